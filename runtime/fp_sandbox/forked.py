"""The keeper of a runtime forked from a zygote (fp_runtime/zygote.py, docs/adr/0019-zygotes.md).

A spawned keeper is the host's own child: the host reads its exit status and its stdout/stderr
pipes directly. A forked keeper is the zygote's child (and init's, once a zygote died), so it tells
the host itself, on a report channel: a Unix socket the host opened to the zygote for this runtime,
held by this keeper only. Frames, as everywhere (4-byte length + msgpack):

    {t: "pid", pid}              first, before anything else: the keeper's host pid (for signals)
    {t: "out", s: 1 | 2, b}      what the box wrote to its stdout (1) or stderr (2) outside calls
    {t: "exit", code, signal}    the runtime's own end, once everything in the box is gone

A channel that closes without "exit" means the keeper itself was killed (the host's SIGKILL). No
process of the box holds the channel (init and the runtime close it before anything else), so a
function cannot forge its own exit or the pid the host signals.
"""
import os
import select
import signal

import msgpack

_report = -1
_output = ()


def begin(report_fd: int) -> None:
    """First thing in the forked keeper: default SIGCHLD (the zygote ignores it), announce the pid."""
    global _report
    _report = report_fd
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _send({"t": "pid", "pid": os.getpid()})


def redirect_output() -> tuple:
    """Points fds 1 and 2 at pipes this keeper reads (the box inherits them); returns the read ends
    and /dev/null, opened now: once init pivots into the box's root, the keeper (same mount
    namespace) must not open anything by path."""
    global _output
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    null = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.close(out_w)
    os.close(err_w)
    _output = (out_r, err_r, null)
    return _output


def close_report() -> None:
    """In the box's first process: drop the keeper's ends (report channel, output read ends)."""
    for fd in (_report, *_output):
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


class JoinLater:
    """What a forked keeper needs to move its box into its cgroups after the hello: the
    cgroup.procs files and the host's /proc, opened now (init pivots the keeper's mount namespace
    into the box's root), and two pipes: init says R exists (born), the keeper says done (joined)."""
    __slots__ = ("procs", "proc_dir", "born_r", "born_w", "joined_r", "joined_w")

    def __init__(self, paths):
        self.procs = [os.open(path, os.O_WRONLY | os.O_CLOEXEC) for path in paths]
        self.proc_dir = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.born_r, self.born_w = os.pipe()
        self.joined_r, self.joined_w = os.pipe()


def prepare_join(paths: list):
    """None without cgroups to join (they are joined at once then)."""
    return JoinLater(paths) if paths else None


def in_box(later):
    """In init, right after the keeper forked it: drop the keeper's ends; (born_w, joined_r) or None."""
    if later is None:
        return None
    for fd in (*later.procs, later.proc_dir, later.born_r, later.joined_w):
        os.close(fd)
    return (later.born_w, later.joined_r)


def join_later(init_pid: int, later: JoinLater) -> None:
    """The keeper, after forking init: move init, then R (once init says it exists), into the
    cgroups; then tell R (which waits for it before specialize). On failure the box is killed."""
    os.close(later.born_w)
    os.close(later.joined_r)
    try:
        _move(later, init_pid)
        if os.read(later.born_r, 1) == b"1":
            with os.fdopen(os.open(f"{init_pid}/task/{init_pid}/children", os.O_RDONLY, dir_fd=later.proc_dir)) as f:
                for child in f.read().split():
                    _move(later, int(child))
            os.write(later.joined_w, b"1")
    except OSError:
        try:
            os.kill(init_pid, signal.SIGKILL)
        except OSError:
            pass
    for fd in (*later.procs, later.proc_dir, later.born_r, later.joined_w):
        os.close(fd)


def _move(later: JoinLater, pid: int) -> None:
    for fd in later.procs:
        os.write(fd, str(pid).encode())


def wait_joined(box) -> None:
    """R at specialize, before anything of the function: its cgroups must be joined."""
    if box.joined < 0:
        return
    ok = os.read(box.joined, 1) == b"1"
    os.close(box.joined)
    box.joined = -1
    if not ok:
        raise OSError("the box's cgroups could not be joined")


def bare(keep_fd: int, report_fd: int) -> None:
    """Unsandboxed (--unsafe-no-sandbox): the keeper forks the runtime directly, no box. Returns in
    the runtime; the keeper never returns."""
    output = redirect_output()
    pid = os.fork()
    if pid == 0:
        close_report()
        return
    os.close(keep_fd)
    keep(pid, -1, report_fd, output)


def keep(child: int, status_r: int, report_fd: int, output: tuple) -> None:
    """The keeper's loop: forward output until the child (init, or the bare runtime) is gone, then
    report the runtime's status (init hands it over on status_r) and exit."""
    out_r, err_r, null = output
    os.dup2(null, 1)  # the keeper holds no write end of the box's output: EOF once the box is gone
    os.dup2(null, 2)
    os.close(null)
    pidfd = os.pidfd_open(child)
    streams = {out_r: 1, err_r: 2}
    while True:
        try:
            ready, _, _ = select.select([pidfd, *streams], [], [])
        except InterruptedError:
            continue
        for fd in ready:
            if fd in streams and not _forward(fd, streams[fd]):
                del streams[fd]
        if pidfd in ready:
            break
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    if status_r >= 0:
        data = os.read(status_r, 32)
        if data:
            status = int(data)
    for fd, n in streams.items():  # what is left, without waiting: an escaped child (bare mode) may hold a pipe
        os.set_blocking(fd, False)
        try:
            while _forward(fd, n):
                pass
        except BlockingIOError:
            pass
    if os.WIFSIGNALED(status):
        _send({"t": "exit", "code": None, "signal": signal.Signals(os.WTERMSIG(status)).name})
    else:
        _send({"t": "exit", "code": os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1, "signal": None})
    os._exit(0)


def _forward(fd: int, stream: int) -> bool:
    data = os.read(fd, 1 << 16)
    if not data:
        return False
    _send({"t": "out", "s": stream, "b": data})
    return True


def _send(message: dict) -> None:
    body = msgpack.packb(message, use_bin_type=True)
    try:
        os.write(_report, len(body).to_bytes(4, "big") + body)  # blocking socket: writes it whole
    except OSError:  # the host is gone: nobody to tell
        pass
