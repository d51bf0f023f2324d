"""An ASGI runtime's call time after an idle gap (issue 10, bench/README.md "One connection, again").

Starts a runtime (this checkout's, or --root's: its runtime/ and .venv) over a socketpair, no
gateway and no sandbox, specializes section 6's shop app (bench/fixtures/shop) and sends the
request mix one call at a time, as the gateway does at one connection: each call's round trip
(frame written → reply read) and the runtime's CPU time per call (/proc). With --gap-us G the
client waits G µs between a reply and the next call, sleeping (its CPU may go idle, as the
gateway's does while wrk answers) or, with --spin, busy (the CPU stays awake). Prints one line
per gap, after --warmup calls not counted:

    .venv/bin/python bench/runtime_gap.py [--root DIR] [--calls N] [--gaps 0,200] [--spin] [--uvicorn]

--uvicorn: the same, against uvicorn (uvloop, httptools, one worker) serving the same app, over one
keep-alive HTTP connection: its round trip and the CPU of its process per request.

At one connection under the platform the runtime waits ~100-150 µs between calls (the gateway
answers wrk, wrk sends the next request), uvicorn's process ~20-40 µs (wrk's own turn-around).
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHOP = os.path.join(HERE, "fixtures", "shop")
HEADERS = ["host", "127.0.0.1:8000", "user-agent", "wrk"]
MIX = [
    ("GET", "/items/42", "q=blue", HEADERS, b""),
    ("GET", "/items", "limit=5&offset=10", HEADERS, b""),
    ("POST", "/items", "", HEADERS + ["content-type", "application/json", "content-length", "80"],
     b'{"name":"lamp","price":19.5,"tags":["home","light"],"description":"a desk lamp"}'),
]


class Runtime:
    def __init__(self, root: str):
        import msgpack
        self.packb, self.unpackb = msgpack.packb, msgpack.unpackb
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.proc = subprocess.Popen([os.path.join(root, ".venv", "bin", "python"), "-I",
                                      os.path.join(root, "runtime", "bootstrap.py"), "--fd", str(theirs.fileno())],
                                     pass_fds=[theirs.fileno()])
        theirs.close()
        self.buf = bytearray()

    def send(self, message) -> None:
        body = self.packb(message, use_bin_type=True)
        self.sock.sendall(len(body).to_bytes(4, "big") + body)

    def recv(self):
        while True:
            if len(self.buf) >= 4:
                n = int.from_bytes(self.buf[:4], "big")
                if len(self.buf) >= 4 + n:
                    message = self.unpackb(bytes(self.buf[4:4 + n]), raw=False)
                    del self.buf[:4 + n]
                    return message
            data = self.sock.recv(1 << 16)
            if not data:
                raise SystemExit("the runtime closed its socket")
            self.buf += data

    def cpu_s(self) -> float:
        fields = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Uvicorn:
    """uvicorn serving the same app, and one keep-alive connection to it (the mix as HTTP requests)."""

    def __init__(self, root: str):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.proc = subprocess.Popen([os.path.join(root, ".venv", "bin", "python"), "-m", "uvicorn", "app:app",
                                      "--app-dir", SHOP, "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
                                      "--http", "httptools", "--no-access-log", "--log-level", "warning"])
        deadline = time.monotonic() + 20
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("uvicorn did not start")
                time.sleep(0.05)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    cpu_s = Runtime.cpu_s

    def call(self, method, path, query, headers, body) -> bool:
        target = path + ("?" + query if query else "")
        head = [f"{method} {target} HTTP/1.1"] + [f"{headers[i]}: {headers[i + 1]}" for i in range(0, len(headers), 2)]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        data = b""
        while True:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise SystemExit("uvicorn closed the connection")
            data += chunk
            top, sep, rest = data.partition(b"\r\n\r\n")
            if sep:
                length = next(int(line.split(b":", 1)[1]) for line in top.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                if len(rest) >= length:
                    return top.startswith(b"HTTP/1.1 2")


def run(rt, first_id: int, calls: int, warmup: int, gap_s: float, spin: bool) -> str:
    times = []
    cpu = 0.0
    for i in range(warmup + calls):
        if i == warmup:
            cpu = rt.cpu_s()
        if gap_s:
            if spin:
                end = time.perf_counter() + gap_s
                while time.perf_counter() < end:
                    pass
            else:
                time.sleep(gap_s)
        method, path, query, headers, body = MIX[i % len(MIX)]
        start = time.perf_counter()
        if isinstance(rt, Uvicorn):
            ok, reply = rt.call(method, path, query, headers, body), "an error status"
        else:
            rt.send(["invoke", first_id + i, "r", 30000, 1, method, path, query, [], headers, "r", "/fn/shop", "http",
                     ["127.0.0.1", 40000], body])
            reply = rt.recv()
            ok = (reply[0] if type(reply) is list else reply.get("t")) == "result"
        if i >= warmup:
            times.append(time.perf_counter() - start)
        if not ok:
            raise SystemExit(f"call {i}: {reply!r}")
    cpu = rt.cpu_s() - cpu
    who = "uvicorn" if isinstance(rt, Uvicorn) else "runtime"
    return (f"{who}, gap {gap_s * 1e6:.0f} µs ({'busy' if spin else 'sleeping'}): round trip p50 "
            f"{statistics.median(times) * 1e6:.1f} µs, {who} CPU {cpu / calls * 1e6:.1f} µs a call, {calls} calls")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=os.path.dirname(HERE))
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--gaps", default="0,200")
    parser.add_argument("--spin", action="store_true")
    parser.add_argument("--uvicorn", action="store_true")
    args = parser.parse_args()
    if args.uvicorn:
        server = Uvicorn(os.path.abspath(args.root))
        try:
            for gap in (float(g) for g in args.gaps.split(",")):
                print(run(server, 0, args.calls, args.warmup, gap / 1e6, args.spin), flush=True)
        finally:
            server.proc.kill()
            server.proc.wait()
        return
    rt = Runtime(os.path.abspath(args.root))
    try:
        rt.recv()  # hello
        if rt.recv().get("t") != "settled":  # after the early hello (docs/runtime-protocol.md)
            raise SystemExit("no 'settled' after the hello")
        rt.send({"t": "specialize", "id": 1, "fn": {"name": "shop", "version": "1", "dir": SHOP, "entrypoint": "app:app"}})
        reply = rt.recv()
        if reply.get("t") != "specialized":
            raise SystemExit(f"specialize: {reply!r}")
        next_id = 10
        for gap in (float(g) for g in args.gaps.split(",")):
            print(run(rt, next_id, args.calls, args.warmup, gap / 1e6, args.spin), flush=True)
            next_id += args.calls + args.warmup
    finally:
        rt.proc.kill()
        rt.proc.wait()


if __name__ == "__main__":
    sys.exit(main())
