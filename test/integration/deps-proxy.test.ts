/**
 * The dependency builder's egress proxy (controlplane/deps/proxy.ts): the only way out of the
 * builder's network namespace lets CONNECT and plain HTTP reach the index hosts and nothing else.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { allowedTargets, EGRESS_MAX_CONNECTIONS, startEgressProxy, type EgressProxy } from '../../controlplane/deps/proxy.js';
import { pythonPath } from '../../cli/python.js';

/** Sends `request` over the proxy's Unix socket; resolves with everything read until `until` matches or the socket ends. */
function exchange(path: string, request: string, until: RegExp, then?: (s: Socket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path }, () => socket.write(request));
    let text = '';
    let thenDone = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (!thenDone && then && /\r\n\r\n/.test(text)) {
        thenDone = true;
        then(socket);
      }
      if (until.test(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('egress proxy of the dependency builder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-proxy-'));
  const sock = join(dir, 'proxy.sock');
  const notes: string[] = [];
  const echo = createServer((s) => s.pipe(s));
  let port = 0;
  let proxy: EgressProxy;
  before(async () => {
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    port = (echo.address() as AddressInfo).port;
    proxy = await startEgressProxy(sock, allowedTargets([`http://127.0.0.1:${port}/simple`], []), (line) => notes.push(line));
  });
  after(async () => {
    await proxy.close();
    echo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('allows the index hosts (and PyPI\'s file host with PyPI)', () => {
    assert.deepEqual([...allowedTargets(['https://pypi.org/simple', 'http://idx.local:3141/root/pypi/+simple/'], ['wheels.example.com'])].sort(), [
      'files.pythonhosted.org:443', 'idx.local:3141', 'pypi.org:443', 'wheels.example.com:443',
    ]);
  });

  it('tunnels a CONNECT to an index host', async () => {
    const text = await exchange(sock, `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, /ping$/, (s) => s.write('ping'));
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.match(text, /ping$/);
  });

  it('refuses every other host, for CONNECT and plain HTTP, and notes it', async () => {
    const refused = await exchange(sock, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', /\r\n\r\n/);
    assert.match(refused, /^HTTP\/1\.1 403/);
    const other = await exchange(sock, `CONNECT 127.0.0.1:${port + 1} HTTP/1.1\r\n\r\n`, /\r\n\r\n/);
    assert.match(other, /^HTTP\/1\.1 403/);
    const plain = await exchange(sock, 'GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n', /\r\n\r\n/);
    assert.match(plain, /^HTTP\/1\.1 403/);
    assert.ok(notes.some((n) => n.includes('refused CONNECT example.com:443')));
    assert.ok(notes.some((n) => n.includes('169.254.169.254')));
  });
  it('holds at most EGRESS_MAX_CONNECTIONS of the builder\'s connections at once (red team round 46)', async () => {
    // Each is one of the platform's descriptors: a build script (sdists allowed) held 5 000 from
    // five processes, and twenty would fill the host's limit for every tenant.
    const holder = spawn(pythonPath(undefined), ['-I', '-c', [
      'import socket, sys',
      'held = []',
      'for _ in range(400):',
      '    s = socket.socket(socket.AF_UNIX)',
      '    s.connect(sys.argv[1])',
      '    held.append(s)',
      'print("held", flush=True)',
      'sys.stdin.read()',
    ].join('\n'), sock], { stdio: ['pipe', 'pipe', 'inherit'] });
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (d: Buffer) => String(d).includes('held') && resolve());
        holder.on('close', (code) => reject(new Error(`the holder exited ${code}`)));
      });
      await new Promise((resolve) => setTimeout(resolve, 300)); // every connection accepted (or dropped)
      const grown = fds() - before;
      assert.ok(grown <= EGRESS_MAX_CONNECTIONS + 8, `the proxy held ${grown} descriptors for 400 connections`);
      assert.ok(notes.some((line) => line.includes(`refused connections past ${EGRESS_MAX_CONNECTIONS}`)), notes.join('\n'));
    } finally {
      holder.stdin.end();
      holder.kill();
    }
    // Places come back: the index is reached again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const text = await exchange(sock, `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, /200 Connection Established/);
    assert.match(text, /200 Connection Established/);
  });
});
