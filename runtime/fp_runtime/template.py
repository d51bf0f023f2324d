"""A function template: a runtime specialized for one version that never serves a call, and forks
instances that start with the module already imported (docs/adr/0030-function-templates.md).

The template did everything a specialized instance does (box, uid, limits, seccomp, the user's
module imported), then answers only `health`, `fork` and `shutdown`. On `fork` it forks; the child
closes the template's channel, connects to the host's socket for this template (bound at
/run/fp-tpl by the box: fp_sandbox/enter.py) and says `hello` with the fork's nonce, so the host
can tell the connection is this fork's; from there it is an instance that was never specialized:
its first `specialize` is answered at once (`forked: true`) and it serves as any instance does.
The template's one reaper thread waits for its children and reports each end (`forkExit`); once
told to shut down it forks no more and exits after its last child: its box (PID namespace) ends
with it. A module that started threads or keeps descriptors open at import is not forked (OpenBLAS's
workers and jemalloc's background thread excepted: their libraries handle a fork; a `threading.Timer`
due within SHORT_TIMER_S is let end first).
"""
import gc
import os
import signal
import socket
import sys
import threading
import time

from . import capture, errors
from .conn import Conn
from .flusher import Flusher
from .frames import PROTOCOL_VERSION

SOCKET = "/run/fp-tpl/s"


# A `threading.Timer` due this soon is let run before threads are counted: limits' in-memory storage
# (slowapi's default `memory://`, its README's `Limiter(key_func=get_remote_address)`) starts a 10 ms
# one at import to expire its keys, and another whenever it needs one, so its version had no template
# and scaled out by importing in every instance (apps round 24). Waited for at most twice this.
SHORT_TIMER_S = 0.1


def _await_short_timers() -> None:
    deadline = time.monotonic() + 2 * SHORT_TIMER_S
    for thread in threading.enumerate():
        interval = getattr(thread, "interval", None) if isinstance(thread, threading.Timer) else None
        if isinstance(interval, (int, float)) and 0 <= interval <= SHORT_TIMER_S and thread.is_alive():
            thread.join(max(0.0, deadline - time.monotonic()))


def _extra_threads(flusher_started: bool) -> int:
    """Threads besides this one (and the log flusher, and native threads whose library handles a
    fork: OpenBLAS's workers, jemalloc's background thread): a forked child would not have them."""
    flusher = 1 if flusher_started else 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return threading.active_count() - 1 - flusher
    extra = len(tasks) - 1 - flusher
    return extra - _openblas_workers() - _jemalloc_threads(tasks) if extra > 0 else extra


def _jemalloc_threads(tasks) -> int:
    """jemalloc's background threads (`jemalloc_bg_thd`; pyarrow's jemalloc starts one at import, so
    does pandas 3 with pyarrow installed): jemalloc stops using them across a fork and the child runs
    with background threads off, purging inline (its postfork handler), so they keep no version from
    a template (apps round 19)."""
    found = 0
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                found += f.read().strip() == "jemalloc_bg_thd"
        except OSError:  # ended since the listing
            continue
    return found


# OpenBLAS's thread-count functions as its builds name them: the system library's, 64-bit integer
# builds' suffixes, and the scipy-openblas wheels' prefix (numpy 2, scipy) (as threadpoolctl does).
_OPENBLAS_SYMBOLS = [f"{prefix}openblas_get_{{}}{suffix}" for prefix in ("", "scipy_") for suffix in ("", "64_", "_64")]


def _openblas_workers() -> int:
    """The worker threads of the OpenBLAS libraries this process loaded with their own threads
    (`openblas_get_parallel()` 1; numpy's and scipy's wheels): such a library starts `num_threads - 1`
    workers when it loads, stops them before a fork (its pthread_atfork handler) and starts them again
    at its next call, in the child too, so they keep no version from a template. Apps round 19: on a
    2-core host every app importing numpy (pandas, Plotly Dash) was refused one, and each of its
    scale-out instances imported it all again (Dash: 2-3 s). An OpenMP build (2) is not forkable, and
    its threads count."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split(None, 5)[5].strip() for line in f if "openblas" in line.lower() and line.count(" ") >= 5}
    except OSError:
        return 0
    if not paths:
        return 0
    import ctypes  # only for a process holding OpenBLAS and threads: its import costs the others nothing
    workers = 0
    for path in paths:
        if not os.path.basename(path).lower().startswith("lib") or ".so" not in os.path.basename(path):
            continue
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)  # loaded already: no constructor runs
        except OSError:
            continue
        for name in _OPENBLAS_SYMBOLS:
            threads, parallel = getattr(lib, name.format("num_threads"), None), getattr(lib, name.format("parallel"), None)
            if threads is not None and parallel is not None:
                threads.restype = parallel.restype = ctypes.c_int
                if parallel() == 1:
                    workers += max(threads() - 1, 0)
                break
    return workers


def _open_descriptors(conn) -> list:
    """What the descriptors besides stdio and the channel name (`/tmp/app.sqlite3`, `socket:[…]`):
    files or connections the import opened, which every forked instance would share (one socket,
    one file offset, one epoll set)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd <= 2 or fd == conn.sock.fileno():
            continue
        try:
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the listing's own descriptor, closed since
            continue
    return found


class _Children:
    """The forked children alive (pid → fork id) and their one reaper thread, started with the
    template: a fork never waits for (nor fails on) a new thread. The template may exit once it
    is draining and the last child ended."""

    def __init__(self, conn):
        self.conn = conn
        self.ids = {}
        self.draining = False
        self.cond = threading.Condition()

    def fork(self, fid):
        """os.fork() under the lock, so the reaper never sees a child it does not know yet; 0 in the child."""
        with self.cond:
            pid = os.fork()
            if pid > 0:
                self.ids[pid] = fid
                self.cond.notify()
            return pid

    def reap(self):
        while True:
            with self.cond:
                while not self.ids:
                    self.cond.wait()
            try:
                pid, status = os.wait()
            except (InterruptedError, ChildProcessError):
                continue
            with self.cond:
                fid = self.ids.pop(pid, None)
                last = self.draining and not self.ids
            if fid is not None:
                self._report(fid, status)
            if last:
                os._exit(0)

    def _report(self, fid, status):
        code = os.waitstatus_to_exitcode(status)
        reply = {"t": "forkExit", "id": fid, "code": code if code >= 0 else None,
                 "signal": signal.Signals(-code).name if code < 0 else None}
        try:
            self.conn.send(reply)
        except OSError:
            pass

    def drain(self):
        with self.cond:
            self.draining = True
            last = not self.ids
        if last:
            os._exit(0)


def refusal(conn):
    """Why this process, its module just imported, cannot be a template (None: it can). Asked by a
    template before it serves, and by an instance at the same point of its load, so the pool makes no
    template that would refuse and a deploy's start check can say so (ADR 0201)."""
    _await_short_timers()
    threads = _extra_threads(bool(getattr(capture.sink(), "_started", False)))
    fds = _open_descriptors(conn)
    if threads > 0:
        return f"the module started {threads} thread(s) at import: a forked instance would not have them"
    if fds:
        # Named, with the way out: a Django app's asgi.py that migrates at import keeps its SQLite
        # connection (apps round 18), and the version scaled out by importing Django in every instance.
        return (f"the module keeps {len(fds)} descriptor(s) open after import ({', '.join(sorted(fds)[:3])}"
                f"{', …' if len(fds) > 3 else ''}): every forked instance would share them; close them at the end "
                "of the import (Django: django.db.connections.close_all(); SQLAlchemy: engine.dispose())")
    return None


def serve(conn, msg, loaded, pending):
    """The template's life. Never returns in the template; in a forked child it returns the child's
    (conn, specialize message, pending capture) and the child goes on as a specialized runtime."""
    cap, token, start = pending
    why = refusal(conn)
    if why is not None:
        err = errors.plain(errors.INIT_ERROR, "NotForkable", why)
        conn.send({"t": "error", "id": msg["id"], "error": err, "logs": capture.end(cap, token), "fatal": True})
        os._exit(0)
    conn.send({"t": "specialized", "id": msg["id"], "initMs": (time.perf_counter() - start) * 1000.0,
               "contract": loaded.contract, "logs": capture.end(cap, token)})
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # a forked box inherits the zygote's SIG_IGN: statuses would be lost
    # What the import made is never collected by the children: their collector does not touch (so copy) it.
    gc.collect()
    gc.freeze()
    children = _Children(conn)
    threading.Thread(target=children.reap, daemon=True).start()  # a RuntimeError here: the template failed, nothing forked yet
    while True:
        m = conn.recv()
        if m is None:
            os._exit(0)
        if not isinstance(m, dict) or not isinstance(m.get("id"), int):
            continue
        kind = m.get("t")
        if kind == "health":
            conn.send({"t": "health", "id": m["id"], "ok": True, "rssBytes": 0, "inflight": 0})
        elif kind == "shutdown":
            children.drain()
        elif kind == "fork" and isinstance(m.get("nonce"), str):
            if children.draining:
                conn.send({"t": "forkExit", "id": m["id"], "code": None, "signal": None, "refused": True})
                continue
            forked_at = time.perf_counter()
            try:
                pid = children.fork(m["id"])
            except OSError:
                conn.send({"t": "forkExit", "id": m["id"], "code": None, "signal": None, "refused": True})
                continue
            if pid == 0:
                return _child(conn, m["nonce"], forked_at)


def _child(conn, nonce, forked_at):
    """In the forked child: its own channel to the host, then an instance waiting for `specialize`."""
    try:
        conn.sock.close()  # the template's channel is the template's alone
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(SOCKET)
        own = Conn(sock)
        capture.after_fork_install()  # the at-fork hook reset stdout/stderr and the sink
        Flusher(own).install()
        own.send({"t": "hello", "v": PROTOCOL_VERSION, "pid": os.getpid(), "python": sys.version.split()[0],
                  "bootMs": (time.perf_counter() - forked_at) * 1000.0, "nonce": nonce})
        while True:
            m = own.recv()
            if m is None or not isinstance(m, dict):
                os._exit(0)
            if m.get("t") == "specialize" and isinstance(m.get("id"), int):
                break
            if m.get("t") == "shutdown":
                os._exit(0)
            if m.get("t") == "health" and isinstance(m.get("id"), int):
                own.send({"t": "health", "id": m["id"], "ok": True, "rssBytes": 0, "inflight": 0})
        m["forked"] = True
        cap, token = capture.begin()
        return own, m, (cap, token, time.perf_counter())
    except BaseException:  # no channel: the template reports this child's end, the host falls back
        os._exit(1)
