/**
 * The runtime's small streamed pieces (runtime/fp_runtime/streaming.py `CallStream.chunk`, apps
 * round 17, ADR 0191): a piece that fits one frame and the window is written when the app sends
 * it (chunk hands back the socket write itself: no coroutine of its own) (the per-piece cost), in order, one frame each; the window
 * still holds the app at WINDOW bytes unacknowledged (a piece that does not fit waits for an ack),
 * and a cancelled stream raises ClientDisconnected at the next piece. Runs the runtime's Python
 * against a socketpair the test reads.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/runtime-process.js';

const REPO = repoRoot();
const PYTHON = join(REPO, '.venv', 'bin', 'python');

const SCRIPT = `
import asyncio, inspect, json, socket, sys
sys.path.insert(0, sys.argv[1])
from fp_runtime import streaming
from fp_runtime.conn import Conn
from fp_runtime.frames import Decoder

async def main():
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    loop = asyncio.get_running_loop()
    stream = streaming.CallStream(7, Conn(ours), loop)
    decoder = Decoder()

    def frames():
        out = []
        while True:
            try:
                data = theirs.recv(1 << 20)
            except BlockingIOError:
                return out
            out.extend(decoder.feed(data))

    out = {}
    # A small piece: chunk hands back the socket write itself, not a coroutine of its own.
    pending = stream.chunk(b"one", True)
    out["chunk_is_coroutine"] = inspect.iscoroutine(pending) and pending.cr_code.co_name in ("chunk", "_pieces")
    await pending
    out["written_when_sent"] = [(m["t"], m["id"], bytes(m["body"]).decode(), m["more"]) for m in frames()]
    for piece in (b"two", b"three"):
        await stream.chunk(piece, True)
    out["in_order"] = [bytes(m["body"]).decode() for m in frames()]

    # The window: 100-byte pieces until the next one would pass WINDOW; that one waits for an ack.
    piece = b"x" * 100
    while stream.unacked + len(piece) <= streaming.WINDOW:
        await stream.chunk(piece, True)
        frames()  # the host reads as it goes: the socket's buffer never fills
    out["unacked_at_window"] = stream.unacked
    waiting = loop.create_task(stream.chunk(piece, True))
    await asyncio.sleep(0.05)
    out["waits_at_window"] = not waiting.done() and frames() == []
    stream.ack(len(piece))
    await asyncio.wait_for(waiting, 5)
    out["after_ack"] = [len(m["body"]) for m in frames()]

    # Cancelled: the next piece raises, nothing more is written.
    stream.cancel()
    try:
        await stream.chunk(b"late", True)
        out["cancelled"] = "no error"
    except streaming.ClientDisconnected:
        out["cancelled"] = "ClientDisconnected"
    out["after_cancel"] = frames()
    print(json.dumps(out))

asyncio.run(main())
`;

describe('the runtime\'s small streamed pieces', () => {
  it('a small piece is written when sent, in order, one frame each; the window and a cancel still hold', () => {
    const out = JSON.parse(execFileSync(PYTHON, ['-I', '-c', SCRIPT, join(REPO, 'runtime')], { timeout: 60_000 }).toString()) as Record<string, unknown>;
    assert.equal(out['chunk_is_coroutine'], false, 'a small piece costs no coroutine of chunk\'s own');
    assert.deepEqual(out['written_when_sent'], [['chunk', 7, 'one', true]]);
    assert.deepEqual(out['in_order'], ['two', 'three']);
    assert.ok(Number(out['unacked_at_window']) <= 256 * 1024 && Number(out['unacked_at_window']) > 256 * 1024 - 100, String(out['unacked_at_window']));
    assert.equal(out['waits_at_window'], true, 'a piece past the window waits for an ack');
    assert.deepEqual(out['after_ack'], [100]);
    assert.equal(out['cancelled'], 'ClientDisconnected');
    assert.deepEqual(out['after_cancel'], []);
  });
});
