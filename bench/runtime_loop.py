"""The sync runtime's per-call cost, in process (issue 11): `_serve_sync` over a socketpair.

A forked child plays the host: it writes invoke frames like the gateway's (protocol/invoke-frame.ts,
`hello` under wrk: one `host` header, the root path, scheme and client) `depth` at a time and reads
as many replies before it writes the next batch, `calls` in all, then closes its end. This process
specializes `bench/fixtures/hello` (or --dir) and serves the calls with the runtime's own
`main._serve_sync`; it prints its own CPU per call (user + system, the child's not counted) and
the wall time. The runtime served is the one under --runtime (default: this checkout's), so two
checkouts can be compared by alternating runs:

    .venv/bin/python bench/runtime_loop.py [--calls N] [--depth D] [--runtime DIR] [--profile] [--repeat R]

--profile prints cProfile's top functions (by own time) instead; --repeat R runs R times, one
line each, then the median.

--inproc N: no socket and no fork: N calls of the same frames decoded, checked, run and encoded in
a loop (what the serve loop does between its reads and writes), for an instruction count that
does not depend on the machine's load (bench/README.md, "The sync runtime's per-call path"):

    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/runtime_loop.py --inproc 1600
    (the same with 4800; the difference of the two "Collected" counts ÷ 3200 is a call's instructions)
"""
import argparse
import os
import resource
import socket
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _frame(mid: int, version: int = 4) -> bytes:
    import msgpack
    if version >= 4:  # protocol v4: the invoke array (protocol/wire-arrays.ts, runtime/fp_runtime/frames.py)
        rid = f"01JEXAMPLE{mid:016d}"
        body = msgpack.packb(["invoke", mid, rid, 30000, 1, "GET", "/", "", [], ["host", "127.0.0.1:19301"], rid,
                              "/fn/hello", "http", ["127.0.0.1", 40000 + mid % 20000], b""], use_bin_type=True)
        return len(body).to_bytes(4, "big") + body
    message = {
        "t": "invoke", "id": mid,
        "context": {"requestId": f"01JEXAMPLE{mid:016d}", "timeoutMs": 30000, "attempt": 1},
        "event": {"method": "GET", "path": "/", "rawQuery": "", "query": [],
                  "headers": [["host", "127.0.0.1:19301"]], "requestId": f"01JEXAMPLE{mid:016d}",
                  "rootPath": "/fn/hello", "scheme": "http", "client": ["127.0.0.1", 40000 + mid % 20000],
                  "body": b""},
    }
    body = msgpack.packb(message, use_bin_type=True)
    return len(body).to_bytes(4, "big") + body


def _host(sock, calls: int, depth: int, version: int = 4) -> None:
    frames = [_frame(i + 1, version) for i in range(calls)]
    buf = bytearray()
    sent = 0
    while sent < calls:
        batch = frames[sent:sent + depth]
        sock.sendall(b"".join(batch))
        sent += len(batch)
        want = len(batch)
        while want:
            data = sock.recv(1 << 16)
            if not data:
                os._exit(1)
            buf += data
            while len(buf) >= 4:
                n = int.from_bytes(buf[:4], "big")
                if len(buf) < 4 + n:
                    break
                del buf[:4 + n]
                want -= 1
    sock.close()


class _Done(BaseException):
    pass


def one_run(args) -> float:
    sys.path.insert(0, args.runtime)
    from fp_runtime import main as rt_main
    from fp_runtime.conn import Conn
    from fp_runtime.flusher import Flusher
    from fp_runtime.specialize import load

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        ours.close()
        from fp_runtime.frames import PROTOCOL_VERSION
        _host(theirs, args.calls, args.depth, PROTOCOL_VERSION)
        os._exit(0)
    theirs.close()
    conn = Conn(ours)
    loaded = load({"name": "hello", "version": "1", "dir": args.dir, "entrypoint": "main:handler"}, Flusher(conn))
    real_exit = os._exit

    def done(status):
        raise _Done(status)

    rt_main.os._exit = done  # the module's `os` is the os module: restored below
    profiler = None
    if args.profile:
        import cProfile
        profiler = cProfile.Profile()
    before = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter()
    try:
        if profiler:
            profiler.enable()
        rt_main._serve_sync(conn, loaded)
    except _Done:
        pass
    finally:
        if profiler:
            profiler.disable()
        os._exit = real_exit
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_SELF)
    os.waitpid(pid, 0)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    sys_s = after.ru_stime - before.ru_stime
    user_s = after.ru_utime - before.ru_utime
    if profiler:
        import pstats
        pstats.Stats(profiler).sort_stats("tottime").print_stats(28)
    us = cpu / args.calls * 1e6
    print(f"{us:.2f} us CPU a call (user {user_s / args.calls * 1e6:.2f}, system {sys_s / args.calls * 1e6:.2f}), wall {wall / args.calls * 1e6:.2f} us a call, "
          f"{args.calls} calls, depth {args.depth}, runtime {args.runtime}", flush=True)
    return us


def inproc(args) -> None:
    sys.path.insert(0, args.runtime)
    from fp_runtime import frames, invoke
    from fp_runtime import main as rt_main
    from fp_runtime.specialize import load
    loaded = load({"name": "hello", "version": "1", "dir": args.dir, "entrypoint": "main:handler"}, None)
    batch = b"".join(_frame(i + 1, frames.PROTOCOL_VERSION) for i in range(args.depth))
    decoder = frames.Decoder()
    new = hasattr(frames, "encode_result")  # run_sync returns the frame itself since 2026-12-04
    start = time.perf_counter()
    for _ in range(args.inproc // args.depth):
        for msg in decoder.feed(batch):
            if new:
                if rt_main._invoke_ok(msg):
                    invoke.run_sync(loaded, msg)
            elif not rt_main._check(msg):
                frames.encode(invoke.run_sync(loaded, msg))
    took = time.perf_counter() - start
    print(f"{took / args.inproc * 1e6:.2f} us a call in process, {args.inproc} calls, runtime {args.runtime}",
          file=sys.__stdout__)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--depth", type=int, default=16)
    parser.add_argument("--runtime", default=os.path.join(os.path.dirname(HERE), "runtime"))
    parser.add_argument("--dir", default=os.path.join(HERE, "fixtures", "hello"))
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--inproc", type=int, default=0)
    args = parser.parse_args()
    args.runtime = os.path.abspath(args.runtime)
    args.dir = os.path.abspath(args.dir)
    if args.inproc:
        inproc(args)
        return
    results = []
    for _ in range(args.repeat):
        # Each run in a fresh process: specialize changes process state (cwd, sys.stdout, os._exit).
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            us = one_run(args)
            os.write(w, repr(us).encode())
            os._exit(0)
        os.close(w)
        out = b""
        while chunk := os.read(r, 64):
            out += chunk
        os.close(r)
        os.waitpid(pid, 0)
        results.append(float(out))
    if args.repeat > 1:
        print(f"median {statistics.median(results):.2f} us CPU a call over {args.repeat} runs")


if __name__ == "__main__":
    main()
