/**
 * The dependency builder's box (runtime/deps_build.py, docs/security.md "The dependency
 * builder"): the runtime's box plus a network namespace of its own, the builder's uid and hard
 * limits. Here a process boxed the same way (fp_sandbox keeper + become, `net: none`) tries what
 * a hostile package's build script would: reach a server on the host's loopback, the outside,
 * and the platform's files.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { defaultPoolConfig, resolveSandbox } from '../../poolmgr/index.js';
import { dirname, join } from 'node:path';

const config = defaultPoolConfig();
const mode = resolveSandbox('auto');

const PROBE = `
import json, os, socket, sys
sys.path.insert(0, sys.argv[1])
from fp_sandbox.keeper import start
from fp_sandbox.enter import become
box = start({"mode": sys.argv[2], "net": "none", "tmpBytes": 16 << 20}, 3)
become(box, 599999, 599999, "fp-deps", {"nproc": 64})
def reach(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return "connected"
    except OSError as err:
        return err.__class__.__name__
out = {"uid": os.getuid(), "loopback": reach("127.0.0.1", int(sys.argv[3])), "outside": reach("1.1.1.1", 443),
       "state": os.path.exists(sys.argv[4]), "ifaces": sorted(n for _, n in socket.if_nameindex())}
os.write(3, json.dumps(out).encode())
`;

describe('the dependency builder\'s box', { skip: process.platform !== 'linux' }, () => {
  it('has no network but its own loopback, runs as the builder uid, and sees nothing of the host files', async () => {
    const server = createServer((s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const child = spawn(config.pythonPath, ['-I', '-c', PROBE, dirname(config.runtimeEntry), mode, String(port), join(dirname(dirname(config.runtimeEntry)), 'package.json')], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdio[3]!.on('data', (b: Buffer) => { out += b.toString(); });
      child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
      await new Promise((resolve) => child.on('close', resolve));
      const seen = JSON.parse(out || '{}') as { uid: number; loopback: string; outside: string; state: boolean; ifaces: string[] };
      assert.ok(out !== '', err);
      assert.equal(seen.uid, mode === 'root' ? 599999 : 1000);
      assert.notEqual(seen.loopback, 'connected', 'reached a server on the host\'s loopback');
      assert.notEqual(seen.outside, 'connected', 'reached the outside without the proxy');
      assert.deepEqual(seen.ifaces, ['lo']);
      assert.equal(seen.state, false);
    } finally {
      server.close();
    }
  });
});
