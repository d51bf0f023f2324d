/**
 * The bench's limit baseline (bench/baseline/forwarder.ts + forward_worker.py, issue 11) starts,
 * answers through its Python worker, and keeps pipelined requests apart (each reply to its own
 * request). Speed is the bench's business, not this test's.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { unpack } from 'msgpackr';
import { startLimit } from '../../bench/load.js';
import { LIMIT_WORKER, PYTHON, RUNTIME_DIR } from '../../bench/paths.js';
import { httpGet } from '../../bench/servers.js';
import { encodeInvokeFrame } from '../../protocol/invoke-frame.js';
import { RESULT, RESULT_LENGTH, RESULT_TAG } from '../../protocol/wire-arrays.js';

test('the limit forwarder answers {"ok":true} from its Python worker, also for many requests at once', async (t) => {
  const server = await startLimit();
  t.after(() => server.stop());
  const reply = await httpGet(server.port, '/fn/hello/');
  assert.equal(reply.status, 200);
  assert.deepEqual(JSON.parse(reply.body), { ok: true });
  // 50 requests in flight over keep-alive connections: all answered, none lost or crossed.
  const one = (): Promise<number> => new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: '/fn/hello/?x=1', method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
  const statuses = await Promise.all(Array.from({ length: 50 }, one));
  assert.deepEqual(new Set(statuses), new Set([200]));
});

test('the limit speaks the platform\'s protocol v4: it reads the gateway\'s invoke array and answers a result array', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-limit-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'w.sock');
  const connected = new Promise<Socket>((resolve) => {
    const server = createServer(resolve);
    server.listen(path);
    t.after(() => server.close());
  });
  const worker = spawn(PYTHON, [LIMIT_WORKER, path, RUNTIME_DIR], { stdio: ['ignore', 'ignore', 'inherit'] });
  t.after(() => worker.kill('SIGKILL'));
  const socket = await connected;
  t.after(() => socket.destroy());
  const event = { method: 'GET', path: '/fn/hello/', rawQuery: '', query: [], headers: [['host', 'x'] as [string, string]], body: new Uint8Array(0), requestId: '' };
  for (const frame of encodeInvokeFrame(7, event, { requestId: '', timeoutMs: 0, attempt: 1 })) socket.write(frame);
  const reply = await new Promise<Buffer>((resolve, reject) => {
    // A worker that cannot read the frame dies (a v3 worker: "list indices must be integers"): fail at once.
    worker.once('exit', (code) => reject(new Error(`forward_worker.py exited (${String(code)}) before answering`)));
    let got = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) resolve(got);
    });
  });
  const message = unpack(reply.subarray(4, 4 + reply.readUInt32BE(0))) as unknown[];
  // The raw frame, not FrameDecoder's view of it: an array in the positions of protocol/wire-arrays.ts.
  assert.ok(Array.isArray(message));
  assert.equal(message.length, RESULT_LENGTH);
  assert.equal(message[RESULT.tag], RESULT_TAG);
  assert.equal(message[RESULT.id], 7);
  assert.equal(message[RESULT.status], 200);
  assert.deepEqual(JSON.parse(Buffer.from(message[RESULT.body] as Uint8Array).toString()), { ok: true });
});
