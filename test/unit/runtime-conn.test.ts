/**
 * The runtime's socket writes in the asyncio phase (runtime/fp_runtime/conn.py `asend_frame`): a
 * frame, once handed over, goes out whole and in order even when the task sending it is cancelled
 * part-way. Starlette cancels its streaming task when the client leaves; a write cut off there left
 * part of a frame on the wire, the host's decoder read every later frame out of step, and the call
 * (and its instance) never ended: the CI flake of gateway-streaming's "leaving cancels it".
 * Runs the runtime's Python against a socketpair whose other end reads nothing until asked.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/runtime-process.js';

const REPO = repoRoot();
const PYTHON = join(REPO, '.venv', 'bin', 'python');

const SCRIPT = `
import asyncio, json, socket, sys, threading
sys.path.insert(0, sys.argv[1])
from fp_runtime.conn import Conn
from fp_runtime.frames import Decoder, encode

def run(loop_kind):
    ours, theirs = socket.socketpair()
    conn = Conn(ours)
    ours.setblocking(False)
    big = b"x" * (4 << 20)  # far past the socket's buffers: the write must wait for the reader
    got = []
    ready = threading.Event()

    def reader():
        ready.wait()
        d = Decoder()
        while len(got) < 4:
            data = theirs.recv(1 << 16)
            if not data:
                break
            got.extend(d.feed(data))

    async def main():
        loop = asyncio.get_running_loop()
        first = loop.create_task(conn.asend(loop, {"t": "chunk", "id": 1, "body": big}))   # part-way, then cancelled
        queued = loop.create_task(conn.asend(loop, {"t": "chunk", "id": 2, "body": big}))  # waiting for the lock, then cancelled
        await asyncio.sleep(0.05)
        first.cancel()
        queued.cancel()
        for t in (first, queued):
            try:
                await t
            except asyncio.CancelledError:
                pass
        t = threading.Thread(target=reader)
        t.start()
        ready.set()
        await conn.asend(loop, {"t": "end", "id": 1})
        await conn.asend(loop, {"t": "end", "id": 2})
        await asyncio.to_thread(t.join, 20)

    if loop_kind == "uvloop":
        import uvloop
        uvloop.run(main())
    else:
        asyncio.run(main())
    return [(m["t"], m["id"], len(m.get("body", b""))) for m in got]

print(json.dumps({k: run(k) for k in ("asyncio", "uvloop")}))
`;

describe('the runtime\'s asyncio writes', () => {
  it('a frame whose sending task is cancelled part-way still goes out whole, in order', () => {
    const out = JSON.parse(execFileSync(PYTHON, ['-I', '-c', SCRIPT, join(REPO, 'runtime')], { timeout: 60_000 }).toString()) as
      Record<string, [string, number, number][]>;
    const want: [string, number, number][] = [['chunk', 1, 4 << 20], ['chunk', 2, 4 << 20], ['end', 1, 0], ['end', 2, 0]];
    assert.deepEqual(out['asyncio'], want);
    assert.deepEqual(out['uvloop'], want);
  });
});
