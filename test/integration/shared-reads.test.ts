/**
 * Runtime sockets read into one buffer reused for every read (poolmgr/shared-reads.ts): this Node
 * takes it on each kind of runtime socket (a child's fd 3, a connected socket, a server's socket),
 * and the bytes, pause, resume, the end and a second reader's 'data' work as they did before.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { readShared } from '../../poolmgr/shared-reads.js';

/** Bytes through `socket` read with readShared, until its end. */
function collect(socket: Socket): { ok: boolean; parts: Buffer[]; done: Promise<Buffer> } {
  const parts: Buffer[] = [];
  let ok = false;
  const done = new Promise<Buffer>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(parts)));
    ok = readShared(socket, (bytes) => parts.push(Buffer.from(bytes)));
  });
  return { ok, parts, done };
}

describe('readShared', () => {
  const payload = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;

  it("reads a child's fd 3 (a runtime started by its host)", async () => {
    const child = spawn(process.execPath, ['-e', `const fs = require('fs'); const b = Buffer.alloc(${payload.length}); for (let i = 0; i < b.length; i++) b[i] = (i * 31) & 0xff; fs.writeSync(3, b);`],
      { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
    const { ok, done } = collect(child.stdio[3] as Socket);
    assert.equal(ok, true, 'this Node takes the shared buffer on a child\'s socket');
    assert.ok((await done).equals(payload));
  });

  it('reads a connected socket, paused until its owner resumes it, and a server\'s', async () => {
    const received: Promise<Buffer>[] = [];
    const server = createServer((sock) => {
      const { ok, done } = collect(sock);
      assert.equal(ok, true, 'this Node takes the shared buffer on a server\'s socket');
      received.push(done);
      sock.write(payload, () => sock.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const client = connect(port, '127.0.0.1');
      client.pause(); // as a zygote's fork waits for its pid (process-host.ts)
      const { ok, parts, done } = collect(client);
      assert.equal(ok, true, 'this Node takes the shared buffer on a connected socket');
      // Another reader beside (process-host.ts watches a template's socket for its reports) gets every read too.
      const watched: Buffer[] = [];
      client.on('data', (chunk: Buffer) => watched.push(chunk));
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(parts.length + watched.length, 0, 'nothing is read while the socket is paused');
      client.resume();
      client.write(payload, () => client.end());
      assert.ok((await done).equals(payload));
      assert.ok((await received[0]!).equals(payload));
      assert.ok(Buffer.concat(watched).equals(payload));
    } finally {
      server.close();
    }
  });
});
