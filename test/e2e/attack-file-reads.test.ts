/**
 * Red team, round 5 of 2026-12-05 (red8): a tenant's token against the platform's memory through
 * the API's file read (`GET /api/v1/functions/:name/versions/:n/file`, role `viewer`): a version's
 * file, up to 10 MiB, read whole and answered as JSON (base64 for bytes), about four times its size
 * while the answer is built. Nothing bounded how many were built at once: requests for one 8 MiB
 * file of the tenant's own, sent together by a client that reads nothing, took the platform up by
 * ~13 MiB each (600 of them: 76 MiB to 6.4 GiB), as far as the client liked, until the kernel's
 * OOM killer would end the platform for every tenant. Now the contents being read at once are
 * bounded per process (controlplane/service/file-reads.ts): a workspace reads a quarter at once,
 * its other reads wait their turn.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { b64, createFunction, deploy, newTenant, usePlatform } from './platform-harness.js';

const MIB = 1024 * 1024;
// Answers waiting for their (non-reading) clients are bounded by this budget, whatever this fix does.
const h = usePlatform({ maxHeldResponseBytes: 64 * MIB });

/**
 * Sends `count` requests for `path` with `token` on as many connections, each with a tiny receive
 * buffer and never read: resolves once every connection has the first bytes of its answer (or
 * was closed), with the statuses seen; the connections stay open until `release` is called.
 */
function flood(url: string, path: string, token: string, count: number): Promise<{ statuses: number[]; release: () => void }> {
  const { hostname, port } = new URL(url);
  const script = [
    'import socket, sys',
    `host, port, path, token, n = ${JSON.stringify(hostname)}, ${port}, sys.argv[1], sys.argv[2], ${count}`,
    'socks = []',
    'for _ in range(n):',
    '    s = socket.create_connection((host, port))',
    '    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)',
    '    s.sendall(f"GET {path} HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer {token}\\r\\n\\r\\n".encode())',
    '    socks.append(s)',
    'statuses = []',
    'for s in socks:',
    '    head = s.recv(12)',
    '    statuses.append(int(head[9:12]) if len(head) >= 12 else 0)',
    'print(" ".join(map(str, statuses)), flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  const child = spawn('python3', ['-c', script, path, token], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.endsWith('\n')) resolve({ statuses: out.trim().split(' ').map(Number), release: () => child.stdin.end() });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`the flood ended early (${code})`)));
  });
}

describe('attack: a tenant\'s file reads against the platform\'s memory', () => {
  it('many reads of a large file at once are bounded: the platform stays small, another workspace\'s read is answered', { timeout: 180_000 }, async () => {
    const attacker = await newTenant(h);
    const victim = await newTenant(h);
    for (const t of [attacker, victim]) {
      await createFunction(t.api, 'site');
      const files = [{ path: 'main.py', contentBase64: b64('def handler(event, context):\n    return 1\n') }, { path: 'asset.bin', contentBase64: randomBytes(8 * MIB).toString('base64') }];
      const up = await t.api.call('POST', '/functions/site/versions', { files });
      assert.equal(up.status, 201, JSON.stringify(up.body).slice(0, 300));
      await deploy(t.api, 'site');
    }
    const path = '/api/v1/functions/site/versions/1/file?path=asset.bin';
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      const { statuses, release } = await flood(h.url, path, attacker.api.token!, 150);
      try {
        peak = Math.max(peak, process.memoryUsage().rss);
        // Before the fix: all 150 built at once (~1.9 GiB); now the workspace's reads take turns
        // (its answers then wait for the client within the held-response budget, or are cut: 0).
        assert.ok(statuses.includes(200), `no read was served: ${statuses.join(' ')}`);
        assert.ok(statuses.every((s) => s === 200 || s === 503 || s === 0), statuses.join(' '));
        const grown = (peak - before) / MIB;
        assert.ok(grown < 700, `the platform grew by ${Math.round(grown)} MiB for 150 reads of an 8 MiB file`);
        // Another workspace reads its own file meanwhile, at once: the attacker's unread answers
        // hold at most its workspace's share (a quarter) of the held-answer budget (64 MiB here).
        // Without the share they filled it, and this answer, waiting for its client like any large
        // one, was cut (CI, loaded; docs/gateway.md "Slow clients").
        const own = await victim.api.call('GET', '/functions/site/versions/1/file?path=asset.bin');
        assert.equal(own.status, 200, JSON.stringify(own.body).slice(0, 300));
        assert.equal(Buffer.from(own.body.content as string, 'base64').length, 8 * MIB);
      } finally {
        release();
      }
    } finally {
      clearInterval(sampler);
    }
  });
});
