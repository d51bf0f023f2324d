"""The runtime's TCP door, for a runtime in its own Pod (poolmgr/host/kube-host.ts, docs/kubernetes.md).

`--listen tcp:HOST:PORT --token-sha256-file PATH --code-dir DIR`: listen, and serve the first
connection that proves it is the platform: its first frame is `{t: "auth", token}` and the token's
SHA-256 is the one in PATH (the Pod's downward-API volume; the Pod spec holds only the hash, the
platform derives the token). Connections are read side by side, each for AUTH_TIMEOUT_S at most;
probes and strangers are closed and the runtime goes on listening.
Once authenticated the listener closes: a Pod serves one platform connection for life.

On that connection the host may send `{t: "code", dir, files: [[path, bytes, mode], ...]}` before
`specialize`: the function's code, written under DIR (the Pod's only writable place besides /tmp);
the `specialize` that names `dir` is then pointed at the local copy. The frames are the same
length-prefixed msgpack as everywhere else (frames.py).
"""
import hashlib
import hmac
import os
import selectors
import socket
import sys
import time

from . import errors
from .conn import Conn
from .frames import Decoder, FrameTooLarge

# Each connection gets this long, from its accept, to prove it is the platform.
AUTH_TIMEOUT_S = 5.0
AUTH_MAX_BYTES = 4096
# Connections read at once; past it the oldest is closed for the newest.
AUTH_MAX_PENDING = 64


def wants(argv) -> bool:
    return "--listen" in argv and argv[argv.index("--listen") + 1].startswith("tcp:")


def _option(argv, name):
    if name not in argv or argv.index(name) + 1 >= len(argv):
        print(f"usage: bootstrap.py --listen tcp:HOST:PORT --token-sha256-file PATH --code-dir DIR ({name} missing)",
              file=sys.stderr)
        sys.exit(2)
    return argv[argv.index(name) + 1]


def open_conn(argv) -> "RemoteConn":
    """Listens and returns the authenticated platform connection."""
    host, _, port = _option(argv, "--listen")[4:].rpartition(":")
    with open(_option(argv, "--token-sha256-file"), encoding="ascii") as f:
        expected = bytes.fromhex(f.read().strip())
    code_dir = _option(argv, "--code-dir")
    server = socket.create_server((host.strip("[]") or "0.0.0.0", int(port)), backlog=16)
    print("FP_LISTENING", flush=True)
    sock = _first_authenticated(server, expected)
    server.close()
    sock.setblocking(True)
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return RemoteConn(sock, code_dir)


class _Pending:
    __slots__ = ("decoder", "received", "deadline")

    def __init__(self, deadline):
        self.decoder = Decoder()
        self.received = 0
        self.deadline = deadline


def _first_authenticated(server, expected):
    """The first connection whose first frame is an auth frame with the right token. Connections
    are read side by side, each closed AUTH_TIMEOUT_S after it was accepted whatever it sent: one
    read at a time, with the timeout per read, let a stranger (a function in another Pod, where no
    NetworkPolicy is enforced) trickle a byte every few seconds and hold the door for hours while
    the platform's own connection waited behind it (red team 6)."""
    server.setblocking(False)
    pending = {}
    with selectors.DefaultSelector() as sel:
        sel.register(server, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            for sock in [s for s, p in pending.items() if p.deadline <= now]:
                _drop(sel, pending, sock)
            timeout = min((p.deadline for p in pending.values()), default=now + 60.0) - now
            for key, _ in sel.select(max(0.0, timeout)):
                if key.fileobj is server:
                    try:
                        sock, _ = server.accept()
                    except (BlockingIOError, InterruptedError):
                        continue
                    if len(pending) >= AUTH_MAX_PENDING:  # the oldest stranger goes
                        _drop(sel, pending, min(pending, key=lambda s: pending[s].deadline))
                    sock.setblocking(False)
                    pending[sock] = _Pending(time.monotonic() + AUTH_TIMEOUT_S)
                    sel.register(sock, selectors.EVENT_READ)
                    continue
                sock = key.fileobj
                verdict = _feed(sock, pending[sock], expected)
                if verdict is None:
                    continue
                sel.unregister(sock)
                del pending[sock]
                if verdict:
                    for other in list(pending):
                        _drop(sel, pending, other)
                    sel.unregister(server)
                    return sock
                sock.close()


def _drop(sel, pending, sock):
    sel.unregister(sock)
    del pending[sock]
    sock.close()


def _feed(sock, state, expected):
    """True: the auth frame with the right token; False: anything else; None: more to read."""
    try:
        data = sock.recv(AUTH_MAX_BYTES)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return False
    if not data:
        return False
    state.received += len(data)
    try:
        for msg in state.decoder.feed(data):
            token = msg.get("token") if isinstance(msg, dict) and msg.get("t") == "auth" else None
            if not isinstance(token, (str, bytes)):
                return False
            raw = token.encode() if isinstance(token, str) else token
            return hmac.compare_digest(hashlib.sha256(raw).digest(), expected)
    except (FrameTooLarge, ValueError):
        return False
    return False if state.received >= AUTH_MAX_BYTES else None


class RemoteConn(Conn):
    """A Conn that takes the host's `code` frames itself and points `specialize` at the copy."""

    def __init__(self, sock, code_dir):
        super().__init__(sock)
        self.code_dir = code_dir
        self.copies = {}
        self.failed = {}

    def recv(self):
        while True:
            msg = super().recv()
            if not isinstance(msg, dict):
                return msg
            if msg.get("t") == "code":
                self._install(msg)
                continue
            if msg.get("t") == "specialize" and isinstance(msg.get("fn"), dict):
                fn = msg["fn"]
                if fn.get("dir") in self.failed:
                    report = errors.plain(errors.INIT_ERROR, "CodeNotInstalled", self.failed[fn["dir"]])
                    self.send({"t": "error", "id": msg.get("id", 0), "error": report, "logs": [], "fatal": True})
                    os._exit(0)
                fn["dir"] = self.copies.get(fn.get("dir"), fn.get("dir"))
            return msg

    def _install(self, msg):
        source = msg.get("dir")
        target = os.path.join(self.code_dir, f"v{len(self.copies) + len(self.failed) + 1}")
        try:
            files = msg.get("files")
            if not isinstance(source, str) or not isinstance(files, list):
                raise ValueError("a code message needs a `dir` string and a `files` list")
            for entry in files:
                rel, data, mode = entry
                parts = [p for p in str(rel).split("/") if p not in ("", ".")]
                if not parts or ".." in parts:
                    raise ValueError(f"refusing the path {rel!r}")
                path = os.path.join(target, *parts)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755 if int(mode) & 0o111 else 0o644)
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
            os.makedirs(target, exist_ok=True)
            self.copies[source] = target
        except Exception as err:  # the specialize that needs this code reports it as an init error
            self.failed[str(source)] = f"the function's code could not be installed in the Pod: {type(err).__name__}: {err}"
