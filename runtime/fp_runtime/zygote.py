"""A zygote: one long-lived Python process per runtime preset that forks generic runtimes.

It pays once what every spawned runtime pays again: interpreter start-up, the runtime's own
imports, the sandbox's seccomp programs, and the preset's packages (PRESETS, RUNTIME_EXTRAS). Then `gc.freeze()`,
so the collector never touches (and copies) the inherited objects, and it waits on two doors:

  control   fd 3, a socketpair with the host (poolmgr/host/zygotes.ts). The zygote says
            {t: "zygote", v, preset, pid, dists, bootMs} once ready; its end is its end
            (EOF: exit). Nothing else is read from it.
  listener  a Unix socket at --listen PATH, in a directory only the platform's user may enter
            (the host made it 0700). For each runtime the host opens two connections, each
            starting with one frame {t: "fork", id, role: "data" | "report", box?, wait?}. Once
            both of an id are in, the zygote forks: the child becomes the runtime's keeper (the
            data connection is the runtime's channel, the report connection the keeper's, see
            fp_sandbox/forked.py) and builds the same box a spawned runtime builds
            (fp_sandbox/keeper.py), before any user code. The zygote itself never runs user code
            and never waits for a child (SIGCHLD ignored: the kernel reaps them).
            With `wait: true` the pair is opened ahead (the host keeps a few: connecting and
            accepting are off the spawn path): the zygote holds it until one frame {t: "go",
            box?} arrives on its data connection, then forks with that box; a pair closed
            before its "go" is dropped.

The socket's directory is the only gate: no box sees the host's filesystem, and a secret checked
here would be known to every runtime forked from this process (it inherits its memory).
Decisions and what a zygote is trusted with: docs/adr/0019-zygotes.md, docs/security.md.
"""
import gc
import importlib
import os
import select
import signal
import socket
import sys
import time

from fp_sandbox import atfork

from .frames import Decoder, encode

ZYGOTE_PROTOCOL = 2  # 2: pairs opened ahead (`wait`, "go")
# What each preset imports ahead. The installed modules it brought (these and what they import)
# are reported to the host with their distributions: a function whose own dependency site ships
# another version of one is kept on the default preset, its pinned versions win (preset_packages.py).
PRESETS = {
    "default": (),
    "fastapi": ("fastapi", "fastapi.routing", "fastapi.responses", "pydantic", "starlette",
                "starlette.routing", "starlette.responses", "anyio", "json", "typing_extensions"),
}
# What a preset's zygote also makes ahead of the runtime's own: `context.db`'s pymongo (~60-80 ms a
# bound function's first call paid in every fresh box) in the preset bound functions start on
# (poolmgr/preset.ts), not in the default one, whose idle pooled runtimes it would cost ~0.2 MiB
# of private memory each (docs/adr/0163-pymongo-in-the-fastapi-zygote.md).
RUNTIME_EXTRAS = {"fastapi": "fp_runtime.data"}
REQUEST_TIMEOUT_S = 2.0
CHANNEL_FD = 3
REQUEST_MAX_BYTES = 1 << 16
MAX_WAITING_PAIRS = 16
_runtime_main = None  # fp_runtime.main once preloaded


def preload(preset: str) -> dict:
    """Imports what every runtime imports, then the preset's packages; returns the installed
    top-level modules the preset added, with their distributions (preset_packages.py)."""
    from . import main  # (the runtime: asyncio, msgpack, capture, specialize, …)
    global _runtime_main
    _runtime_main = main  # what a child calls, without an import statement in a fresh fork
    from . import preset_packages
    from fp_sandbox import enter, forked, keeper, libc, seccomp, template  # noqa: F401
    seccomp.compiled("spawn")
    seccomp.compiled("enter")
    libc.cap_last_cap()
    if not forked.native_init():
        print(f"zygote: {forked.NATIVE_INIT} is not built (scripts/build-init.sh): forked boxes keep a Python init",
              file=sys.stderr)
    if preset in RUNTIME_EXTRAS:
        # The runtime's own pin (runtime/requirements.txt, never in a site), so before the snapshot.
        try:
            importlib.import_module(RUNTIME_EXTRAS[preset]).preload()
        except ImportError:  # an optimization: a bound function imports pymongo at first use
            pass
    before = preset_packages.snapshot()
    for name in PRESETS[preset]:
        importlib.import_module(name)
    from .warmup import WARM_UPS
    if preset in WARM_UPS:
        try:
            WARM_UPS[preset]()
        except Exception:  # an optimization: the zygote serves without it
            import traceback
            traceback.print_exc()
    # The runtime's directory last on sys.path, as every specialize puts it (specialize.runtime_last),
    # once here: a fork's specialize then finds it there and rewrites nothing (~60 us in a fresh fork).
    from .specialize import runtime_last
    runtime_last()
    from .rehearsal import specialize_path
    try:
        # The specialize path's code run here until it settles: every fork shares what that wrote
        # (docs/adr/0061-specialize-rehearsed-in-the-zygote.md).
        specialize_path()
    except Exception:  # an optimization too
        import traceback
        traceback.print_exc()
    return preset_packages.imported_since(before) if PRESETS[preset] else {}


def serve(control_fd: int, preset: str, path: str, boot: float, boxed: bool = False) -> None:
    """`boxed`: the host's sandbox is on, so every runtime asked of this zygote is boxed (its host
    says so: `--boxed`); a root zygote then drops its capability bounding set once, here, instead
    of each box's init (docs/adr/0136-bounding-set-in-the-zygote.md)."""
    dists = preload(preset)
    atfork.stop()  # every at-fork hook a fork of this zygote could need is recorded (zygote.py, the entry)
    try:
        os.setsid()  # no controlling terminal, for the zygote and every box it forks (TIOCSTI)
    except OSError:  # already a session leader
        pass
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the host
    except Exception:
        pass
    control = socket.socket(fileno=control_fd)
    os.set_inheritable(control_fd, False)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(128)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    boxes = _Boxes(boxed)
    gc.collect()
    gc.freeze()
    control.sendall(encode({"t": "zygote", "v": ZYGOTE_PROTOCOL, "preset": preset, "pid": os.getpid(),
                            "dists": dists, "bootMs": (time.perf_counter() - boot) * 1000.0}))
    pending = {}
    waiting = {}  # data socket -> (data part, report part) of a pair opened ahead, until its "go"
    while True:
        try:
            ready, _, _ = select.select([control, listener, *waiting], [], [])
        except InterruptedError:
            continue
        if control in ready and not control.recv(4096):
            os._exit(0)
        for sock in ready:
            if sock in waiting:
                data, report = waiting.pop(sock)
                messages = _frames(sock, data[1]["decoder"])
                _go(data, report, messages[0] if messages and len(messages) == 1 else None,
                    [control, listener] + _socks(pending) + _socks(waiting), boxes)
        if listener in ready:
            conn, _ = listener.accept()
            request = _request(conn)
            if request is None:
                conn.close()
                continue
            parts = pending.setdefault(request["id"], {})
            old = parts.pop(request["role"], None)
            if old is not None:
                old[0].close()
            parts[request["role"]] = (conn, request)
            if "data" in parts and "report" in parts:
                del pending[request["id"]]
                data, report = parts["data"], parts["report"]
                inherited = [control, listener] + _socks(pending) + _socks(waiting)
                if data[1].get("wait") is not True:
                    _fork(data, report, inherited, boxes)
                elif "go" in data[1]:  # taken by a fork as soon as opened: its "go" came with the request
                    _go(data, report, data[1].pop("go"), inherited, boxes)
                else:
                    if len(waiting) >= MAX_WAITING_PAIRS:  # more than the host keeps: drop the oldest
                        for sock, _ in waiting.pop(next(iter(waiting))):
                            sock.close()
                    waiting[data[0]] = (data, report)
                if len(pending) > 64:  # halves the host never completed: forget them
                    for parts_left in pending.values():
                        for sock, _ in parts_left.values():
                            sock.close()
                    pending.clear()


def _go(data, report, go, inherited: list, boxes) -> None:
    """A pair opened ahead, told to fork (`go`: {t: "go", box?}); anything else closes it."""
    if not isinstance(go, dict) or go.get("t") != "go":
        data[0].close()
        report[0].close()
        return
    data[1]["box"] = go.get("box")
    _fork(data, report, inherited, boxes)


def _socks(parts_by_key: dict) -> list:
    """The sockets of pending halves or waiting pairs (closed in every child: a box holds only its own)."""
    return [sock for parts in parts_by_key.values() for sock, _ in (parts.values() if isinstance(parts, dict) else parts)]


def _request(conn: socket.socket):
    """The connection's first frame, if it is a well-formed fork request (with, for a pair opened
    ahead and taken at once, its "go" as `go`; and its decoder, which may hold the start of it)."""
    decoder = Decoder()
    messages = _frames(conn, decoder)
    msg = messages[0] if messages else None
    if (not isinstance(msg, dict) or msg.get("t") != "fork" or msg.get("role") not in ("data", "report")
            or not isinstance(msg.get("id"), str)):
        return None
    if len(messages) > 1:
        if len(messages) > 2 or msg.get("wait") is not True or msg["role"] != "data":
            return None
        msg["go"] = messages[1]
    msg["decoder"] = decoder
    return msg


def _frames(conn: socket.socket, decoder: Decoder):
    """What the host sent before the fork, read until at least one whole frame is in, or None."""
    conn.settimeout(REQUEST_TIMEOUT_S)
    received = 0
    try:
        while True:
            data = conn.recv(4096)
            if not data:
                return None
            received += len(data)
            messages = decoder.feed(data)
            if messages:
                break
            if received > REQUEST_MAX_BYTES:
                return None
    except Exception:
        return None
    conn.settimeout(None)
    return messages


class _Boxes:
    """What the zygote keeps for the boxes it forks in root mode: its own PID namespace (to come
    back to after unsharing one for each child) and the prepared root (fp_sandbox/template.py).
    `bounded`: the zygote's capability bounding set is empty (dropped here once when every fork is
    boxed; the template's helper needs none of it: mounts are its effective capabilities), so a
    box's init, its child in this user namespace, has none to drop (docs/adr/0136-bounding-set-in-the-zygote.md).
    A sandbox-off host's zygote keeps it: its runtimes keep theirs."""

    def __init__(self, boxed: bool = False):
        from fp_sandbox import libc
        from fp_sandbox.template import Template
        self.pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC) if os.geteuid() == 0 else -1
        self.template = Template()
        self.bounded = False
        if boxed and self.pid_ns >= 0:
            try:
                libc.drop_bounding_set()
                self.bounded = True
            except OSError:  # not allowed here (no CAP_SETPCAP): each init drops it, as before
                pass

    def root_box(self, box) -> bool:
        """A root-mode runtime box: its init can be the zygote's child."""
        return isinstance(box, dict) and box.get("mode", "root") == "root" and not box.get("net") and self.pid_ns >= 0

    def unshare_pid(self) -> bool:
        """Unshares a PID namespace for the next child (which is then its init)."""
        from fp_sandbox import libc
        try:
            libc.unshare(libc.CLONE_NEWPID)
        except OSError:  # not allowed here: the child unshares it, as a keeper
            return False
        return True

    def back(self) -> None:
        """The zygote's next children in its own PID namespace again (if this fails, it must not fork on)."""
        from fp_sandbox import libc
        libc.setns(self.pid_ns, libc.CLONE_NEWPID)

    def close_in_child(self, keep: int) -> None:
        """In the child: nothing of these but the template it enters (`keep`)."""
        if self.pid_ns >= 0:
            os.close(self.pid_ns)
        if keep < 0:
            self.template.close()


def _fork(data, report, inherited: list, boxes: _Boxes) -> None:
    (data_sock, request), (report_sock, _) = data, report
    box = request.get("box")
    template_fd = -1
    if boxes.root_box(box):
        try:
            template_fd = boxes.template.fd(box)  # before the PID namespace: the helper must not be its init
        except Exception:  # the child builds its whole root
            template_fd = -1
    as_init = boxes.root_box(box) and boxes.unshare_pid()
    if not as_init:
        template_fd = -1
    pid = -1
    try:
        # Root-mode init: libc's fork, no at-fork hooks (they run in the runtime, fp_sandbox/atfork.py).
        pid = atfork.fork_bare() if as_init else os.fork()
    except OSError as err:
        # Out of pids (EAGAIN) or memory: this runtime fails, the zygote serves on (it died here, and
        # a host out of pids could not start it again). The host reads why, and counts the failure.
        _fork_failed(report_sock, err)
    finally:
        if as_init and pid != 0:
            boxes.back()
    if pid != 0:
        data_sock.close()
        report_sock.close()
        return
    code = 1
    try:
        boot = time.perf_counter()
        for sock in inherited:
            sock.close()
        boxes.close_in_child(template_fd)
        data_fd, report_fd = data_sock.detach(), report_sock.detach()
        if report_fd == CHANNEL_FD:
            report_fd = os.dup(report_fd)
            os.close(CHANNEL_FD)
        if data_fd != CHANNEL_FD:  # the runtime's channel is fd 3, as in a spawned runtime
            os.dup2(data_fd, CHANNEL_FD, inheritable=False)
            os.close(data_fd)
            data_fd = CHANNEL_FD
        from fp_sandbox import forked
        forked.begin(report_fd)
        if not as_init:
            forked.announce(forked.own_stat(), os.getpid())
        runtime_main = _runtime_main
        if runtime_main is None:  # not preloaded (only a harness forks so)
            from . import main as runtime_main
        if as_init:
            from fp_sandbox.keeper import init
            # returns in the runtime (pid 2 of its box) only, which says hello first thing
            sandbox = init(box, data_fd, template_fd, lambda: runtime_main.say_hello(data_fd, boot), boxes.bounded)
        elif isinstance(box, dict):
            from fp_sandbox.keeper import start
            sandbox = start(box, data_fd, report_fd)  # returns in the runtime (pid 2 of its box) only
        else:
            forked.bare(data_fd, report_fd)  # --unsafe-no-sandbox: returns in the runtime only
            sandbox = None
        code = runtime_main.main(["--fd", str(data_fd)], boot, sandbox)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # never back into the zygote's loop
        import traceback
        traceback.print_exc()
        code = 1
    finally:
        _exit(code)


def _fork_failed(report_sock, err: OSError) -> None:
    """A fork the kernel refused: its report connection says so as the child would have (its
    error, exit code 1; fp_sandbox/forked.py), so the host's message names the cause."""
    text = f"the zygote could not fork the runtime: {err}\n".encode("utf-8", "replace")
    try:
        report_sock.settimeout(1.0)
        report_sock.sendall(encode({"t": "out", "s": 2, "b": text}) + encode({"t": "exit", "code": 1, "signal": None}))
    except OSError:
        pass


def _exit(code: int) -> None:
    """How the interpreter would have ended, without returning into the zygote's frames."""
    try:
        import atexit
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
