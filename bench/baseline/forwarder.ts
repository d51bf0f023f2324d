/**
 * The limit (issue 11): a bare uWebSockets.js server that forwards each request to one Python
 * worker (bench/baseline/forward_worker.py) over a Unix socket, with the platform's own framing
 * (protocol/frames.ts: 4-byte length + msgpack) and its protocol v4 messages (protocol/wire-arrays.ts:
 * the `invoke` written by the gateway's own encoder, protocol/invoke-frame.ts; the `result` array
 * read by its FrameDecoder), pipelined: every request is sent at once, the
 * frames of one event-loop turn in one write, and replies are matched by id. Nothing else: no
 * routing table, no pool, no run record, no metrics. What the gateway does on top is its cost.
 * Usage: node dist/bench/baseline/forwarder.js <port> <python> <worker.py> <runtime dir>
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as uWS from 'uWebSockets.js';
import { FrameDecoder } from '../../protocol/frames.js';
import { encodeInvokeFrame } from '../../protocol/invoke-frame.js';
import type { ResultMessage } from '../../protocol/wire-arrays.js';

if (typeof (uWS as { us_socket_local_port?: unknown }).us_socket_local_port !== 'function') {
  console.error('forwarder: uWebSockets.js App is not the native binary; refusing to run');
  process.exit(2);
}
const [portArg, python, worker, runtimeDir] = process.argv.slice(2);
if (!python || !worker || !runtimeDir) {
  console.error('usage: forwarder <port> <python> <worker.py> <runtime dir>');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'fp-limit-'));
const path = join(dir, 'w.sock');
const child = spawn(python, [worker, path, runtimeDir], { stdio: ['ignore', 'inherit', 'inherit'] });
const cleanup = (): void => { child.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); };
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => process.exit(0));

const NO_PAIRS: [string, string][] = [];
const EMPTY = new Uint8Array(0);
const CONTEXT = { requestId: '', timeoutMs: 0, attempt: 1 };
interface Waiter { res: uWS.HttpResponse; aborted: boolean }
const waiting = new Map<number, Waiter>();
let nextId = 0;
let pending: Buffer[] = [];
let conn: Socket | null = null;
const flush = (): void => {
  const frames = pending;
  pending = [];
  conn?.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
};

const server = createServer((socket) => {
  conn = socket;
  const decoder = new FrameDecoder();
  socket.on('data', (chunk: Buffer) => {
    for (const m of decoder.push(chunk) as ResultMessage[]) {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (w === undefined || w.aborted) continue;
      w.res.cork(() => { w.res.writeStatus(String(m.response.status)).writeHeader('content-type', 'application/json').end(m.response.body); });
    }
  });
  uWS.App().any('/*', (res, req) => {
    const id = ++nextId;
    const headers: [string, string][] = [];
    const method = req.getMethod().toUpperCase();
    const url = req.getUrl();
    const rawQuery = req.getQuery() ?? '';
    req.forEach((k, v) => headers.push([k, v]));
    const w: Waiter = { res, aborted: false };
    res.onAborted(() => { w.aborted = true; });
    waiting.set(id, w);
    if (pending.length === 0) setImmediate(flush);
    // The same `invoke` array as the gateway's, with what a bare forwarder knows: no query parsing,
    // no run id, root path, scheme or client (nil); the headers as uWS gave them.
    for (const frame of encodeInvokeFrame(id, { method, path: url, rawQuery, query: NO_PAIRS, headers, body: EMPTY, requestId: '' }, CONTEXT)) pending.push(frame);
  }).listen('127.0.0.1', Number(portArg ?? '0'), (token) => {
    if (!token) {
      console.error(`forwarder: could not listen on 127.0.0.1:${portArg}`);
      process.exit(1);
    }
    console.log(`forwarder listening on ${uWS.us_socket_local_port(token)}`);
  });
});
server.listen(path);
