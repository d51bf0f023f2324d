"""The ASGI runtime's per-call cost, in process (issue 10): `_serve_async` over a socketpair.

This process specializes section 6's shop app (bench/fixtures/shop; --bare: a one-step ASGI app
that answers `{}`, to see the runtime's own share) and serves it with the runtime's own
`main._serve_async` on uvloop, as a specialized runtime does; a forked child plays the gateway and
sends the shop's request mix as invoke arrays (bench/runtime_gap.py's MIX), one call at a time,
`--warmup` calls and then `--calls` more. Prints this process's CPU per measured call (the
child's not counted) and the wall time per call. The runtime served is --runtime's (default: this
checkout's runtime/), so two checkouts can be compared by alternating runs:

    .venv/bin/python bench/asgi_loop.py [--runtime DIR] [--calls N] [--warmup N] [--bare] [--profile]

Instructions per call, which do not depend on the machine's load (callgrind counts this process
and the child apart: take the larger "Collected"), by the difference of two call counts:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/asgi_loop.py --warmup 200 --calls 300
    (the same with --calls 1300; the difference of the two counts ÷ 1000 is a call's instructions)
"""
import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from runtime_gap import MIX, SHOP  # noqa: E402 (the same request mix as the gap bench)

BARE_APP = '''async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await receive()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"2"), (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})
'''


class _Done(BaseException):
    pass


def _client(sock, total: int) -> None:
    import msgpack
    buf = bytearray()
    for i in range(total):
        method, path, query, headers, body = MIX[i % len(MIX)]
        frame = msgpack.packb(["invoke", i + 10, "r", 30000, 1, method, path, query, [], headers, "r", "/fn/shop", "http",
                               ["127.0.0.1", 40000], body], use_bin_type=True)
        sock.sendall(len(frame).to_bytes(4, "big") + frame)
        while True:  # one reply (result, or a streamed call's frames up to its end: none here)
            if len(buf) >= 4 and len(buf) >= 4 + int.from_bytes(buf[:4], "big"):
                del buf[:4 + int.from_bytes(buf[:4], "big")]
                break
            data = sock.recv(1 << 16)
            if not data:
                os._exit(1)
            buf += data
    sock.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runtime", default=os.path.join(os.path.dirname(HERE), "runtime"))
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--bare", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    app_dir = SHOP
    if args.bare:
        app_dir = tempfile.mkdtemp(prefix="asgi-loop-")
        with open(os.path.join(app_dir, "app.py"), "w") as f:
            f.write(BARE_APP)
    sys.path.insert(0, os.path.abspath(args.runtime))
    from fp_runtime import capture
    from fp_runtime import main as rt_main
    from fp_runtime.conn import Conn
    from fp_runtime.flusher import Flusher
    from fp_runtime.specialize import load

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        ours.close()
        _client(theirs, args.warmup + args.calls)
        os._exit(0)
    theirs.close()
    conn = Conn(ours)
    cap, token = capture.begin()
    loaded = load({"name": "shop", "version": "1", "dir": app_dir, "entrypoint": "app:app"}, Flusher(conn))
    profiler = None
    if args.profile:
        import cProfile
        profiler = cProfile.Profile()
    replies = [0]
    mark = []

    def counted(reply_frame):
        # Every reply goes through here (a checkout before 2026-12-04 sends each as a message, later
        # ones as a frame): the clock starts at the last warm-up call's reply.
        async def send(self, loop, message):
            if type(message) is dict and message.get("t") == "specialized":
                return  # the client does not read it
            replies[0] += 1
            if replies[0] == args.warmup:
                mark.append((time.perf_counter(), time.process_time()))
                if profiler:
                    profiler.enable()
            await reply_frame(self, loop, message)
        return send

    if hasattr(Conn, "asend_frame"):
        frame_send = Conn.asend_frame
        Conn.asend_frame = counted(frame_send)
        Conn.asend = lambda self, loop, message: (_skip() if type(message) is dict and message.get("t") == "specialized"
                                                  else frame_send(self, loop, rt_main.encode(message)))
    else:
        Conn.asend = counted(Conn.asend)

    def done(status):
        raise _Done(status)

    real_exit = os._exit
    rt_main.os._exit = done  # the module's `os` is the os module: restored below
    try:
        with asyncio.Runner(loop_factory=rt_main._new_loop) as runner:
            runner.run(rt_main._serve_async(conn, loaded, {"id": 1}, (cap, token, time.perf_counter())))
    except _Done:
        pass
    finally:
        if profiler:
            profiler.disable()
        os._exit = real_exit
    wall, cpu = time.perf_counter() - mark[0][0], time.process_time() - mark[0][1]
    os.waitpid(pid, 0)
    if profiler:
        import pstats
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    print(f"{cpu / args.calls * 1e6:.1f} us CPU a call, wall {wall / args.calls * 1e6:.1f} us a call, {args.calls} calls "
          f"({'bare app' if args.bare else 'shop'}), runtime {args.runtime}", flush=True)


async def _nothing():
    return None


def _skip():
    return _nothing()


if __name__ == "__main__":
    main()
