"""How a box forked by a zygote (fp_runtime/zygote.py, docs/adr/0019-zygotes.md) tells the host
about itself. A spawned keeper is the host's own child: the host reads its exit status and its
stdout/stderr pipes directly. A forked box is the zygote's child, so it tells the host on a report
channel: a Unix socket the host opened to the zygote for this runtime. Frames, as everywhere
(4-byte length + msgpack):

    {t: "pid", stat}             first, before anything else: the reporter's /proc/self/stat line,
                                 read of itself on the host's /proc: its host pid, the one the
                                 host signals, and its start time (docs/adr/0243-forked-pid-start-reported.md)
    {t: "out", s: 1 | 2, b}      what the box wrote to its stdout (1) or stderr (2) outside calls
    {t: "dropped", n}            bytes of it read and dropped past the budget (FORWARD_BYTES)
    {t: "exit", code, signal}    the runtime's own end

Who holds the channel: in root mode the zygote's child is the box's init itself (the zygote
unshared a PID namespace for it): init reports, its pid first (before it forks the runtime), as
`serve_init`, or, once it exec'd the native init (`exec_init`, init.c: the same frames), as
`fp-init`; the runtime closes the channel right after its hello, before it reads a message.
Otherwise (user-namespace mode, no sandbox) the child is a keeper outside the box, as a spawned
one: it reports (`keep`), and init and the runtime close the channel first. Either way no process
that runs function code holds it: in root mode the function's uid can neither signal init
(uid 0) nor open its descriptors (not dumpable, hidepid). A channel that closes without "exit"
means the reporter itself was killed (the host's SIGKILL or SIGTERM).
"""
import os
import select
import signal
import time

import msgpack

# The native init (init.c, built by scripts/build-init.sh; docs/adr/0026-native-init.md): what a
# root-mode box's init exec's once it forked the runtime. Not built: the Python init serves.
NATIVE_INIT = os.path.join(os.path.dirname(os.path.realpath(__file__)), "fp-init")  # where the box binds it (view.py)

_report = -1
_output = ()
_native = []


def begin(report_fd: int) -> None:
    """First thing in the zygote's child: default SIGCHLD (the zygote ignores it: the box's status
    must not be reaped away), and the report channel."""
    global _report
    _report = report_fd
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)


def own_stat() -> bytes:
    """This process's /proc/self/stat line, read while /proc is still the host's: the host takes
    from it its pid in the host's PID namespace (init of its own PID namespace gets 1 from
    getpid()) and its start time, its check before each signal that the pid still names this
    process. Read here, by the process itself, it cannot be another's that took a freed pid; read
    by the host when the pid arrived, it cost the host's event loop a /proc read on the ready path.
    Parsed by the host, not here: a fresh fork's first bytes methods cost ~65 µs of copy-on-write
    faults (docs/adr/0243-forked-pid-start-reported.md)."""
    fd = os.open("/proc/self/stat", os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, 1024)
    finally:
        os.close(fd)


def native_init() -> str:
    """The native init's path if it is built (looked at once per process: a zygote, before it forks), else ""."""
    if not _native:
        _native.append(NATIVE_INIT if os.access(NATIVE_INIT, os.X_OK) else "")
    return _native[0]


def exec_init(runtime: int, procs: list, output: tuple, joined_w: int) -> None:
    """Init of a forked box, once R is forked: becomes the native init, which reports, joins the
    cgroups, loses its privileges, tells R and reaps (init.c). Every descriptor it needs is named
    on its command line; it closes any other. Returns only if there is none or exec failed (the
    Python init goes on; only the pid was reported yet, by the caller)."""
    path = native_init()
    if not path:
        return
    fds = [_report, *output, joined_w, *procs]
    for fd in fds:
        os.set_inheritable(fd, True)
    try:
        os.execve(path, [path, str(runtime), *map(str, fds)], {})
    except OSError:
        for fd in fds:
            os.set_inheritable(fd, False)


def failed(text: str) -> None:
    """Init could not build the box, before R was forked: its error (the end of its traceback) and
    exit code 1 to the host, since its own stderr goes to a pipe only it would have read (the host
    said "unknown exit status" and "closed the fork request before forking"). Never returns."""
    _send({"t": "out", "s": 2, "b": text.encode("utf-8", "replace")[-TAIL_BYTES:]})
    _send({"t": "exit", "code": 1, "signal": None})
    os._exit(1)


def announce(stat: bytes, pid: int = 0) -> None:
    """Whom the host signals (`own_stat`), before anything else is reported. `pid`: getpid() of a
    reporter that is the runtime itself (no box of its own): where /proc is not of the platform's
    PID namespace (ADR 0128's setups) the stat line names another pid, and the host goes by this one
    (docs/adr/0243-forked-pid-start-reported.md)."""
    _send({"t": "pid", "stat": stat, "pid": pid} if pid else {"t": "pid", "stat": stat})


def redirect_output() -> tuple:
    """Points fds 1 and 2 at pipes the reporter reads (the box inherits them); returns the read ends
    and /dev/null, opened now, on the host's root."""
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
    """In init under a keeper: drop the keeper's ends (report channel, output read ends)."""
    for fd in (_report, *_output):
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


def open_procs(paths: list) -> list:
    """Init of a forked box, on the host's root: the cgroup.procs files of the box's leaves."""
    return [os.open(path, os.O_WRONLY | os.O_CLOEXEC) for path in paths]


def join(procs: list, runtime: int) -> None:
    """Init, once R is forked: moves itself and R (pids of the box's namespace) into the leaves."""
    try:
        for pid in (os.getpid(), runtime):
            for fd in procs:
                os.write(fd, str(pid).encode())
    finally:
        for fd in procs:
            os.close(fd)


def abandon(runtime: int, err: OSError) -> None:
    """Init, when the box could not be completed: says why and kills R (reported so): no function
    code runs outside its leaves."""
    _send({"t": "out", "s": 2, "b": f"the box's init could not join its cgroups: {err}\n".encode()})
    os.kill(runtime, signal.SIGKILL)


JOIN_FAILED = -2  # `box.joined` once its pipe said the join failed (read ahead: keeper.Box.ahead)


def wait_joined(box) -> None:
    """R at specialize, before anything of the function: its cgroups joined (and, forked, its init
    without privileges)."""
    if box.joined >= 0:
        take_joined(box)
    if box.joined == JOIN_FAILED:
        raise OSError("the box's cgroups could not be joined")


def take_joined(box) -> None:
    """Reads the joined pipe's word (blocks until init wrote it or died) and closes it."""
    ok = os.read(box.joined, 1) == b"1"
    os.close(box.joined)
    box.joined = -1 if ok else JOIN_FAILED


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
    """A keeper's loop: forward output until the child (init, or the bare runtime) is gone, then
    report the runtime's status (init hands it over on status_r) and exit."""
    streams = _quiet(output)
    _relay(os.pidfd_open(child), streams, lambda: os.kill(child, signal.SIGKILL))
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
    _end(status, streams)


def serve_init(runtime: int, pidfd: int, output: tuple) -> None:
    """Init of a forked box (root mode) from the runtime's fork on: reap every process the box
    orphans, forward output until the runtime is gone, report its status and exit (the kernel then
    ends whatever is left in the box). A SIGTERM or SIGINT from the host ends the box, as it ended
    a keeper (init of a PID namespace gets only the signals it handles)."""
    status = []

    def reap(*_):
        while True:
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == runtime:
                status.append(st)

    signal.signal(signal.SIGCHLD, reap)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: os._exit(1))
    streams = _quiet(output)

    def host_gone():
        os.kill(runtime, signal.SIGKILL)
        os._exit(1)  # init of the PID namespace: the kernel ends the rest of the box

    while not status:
        _relay(pidfd, streams, host_gone)
        reap()
    _end(status[0], streams)


def _quiet(output: tuple) -> dict:
    """The reporter holds no write end of the box's output (EOF once the box is gone)."""
    out_r, err_r, null = output
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    return {out_r: 1, err_r: 2}


def _relay(pidfd: int, streams: dict, host_gone) -> None:
    """Forwards output until `pidfd`'s process is gone. The host's end of the report channel
    closing (the platform died, even by SIGKILL: the kernel closes its sockets) calls `host_gone`,
    which ends the box: a forked box outlives its zygote, not the host (reliability probe
    2026-12-04: a handler busy in a loop ran on past its timeout with nobody to stop it)."""
    watched = [pidfd, *streams] + ([_report] if _report >= 0 else [])
    while True:
        try:
            ready, _, _ = select.select(watched, [], [])
        except InterruptedError:
            continue
        for fd in ready:
            if fd in streams and not _forward(fd, streams[fd]):
                del streams[fd]
                watched.remove(fd)
        if _report in ready and not _host_alive():
            host_gone()
            return
        if pidfd in ready:
            return


def _host_alive() -> bool:
    """The report channel is readable (select said so, so this read does not block): the host
    closed it (EOF, or an error), or sent something, read and dropped (the host sends nothing)."""
    try:
        return len(os.read(_report, 4096)) > 0
    except OSError:
        return False


def _end(status: int, streams: dict) -> None:
    """What output is left, without waiting (an escaped child may hold a pipe), then the exit report."""
    for fd, n in streams.items():
        os.set_blocking(fd, False)
        try:
            while _forward(fd, n):
                pass
        except BlockingIOError:
            pass
    _flush_dropped()
    if os.WIFSIGNALED(status):
        _send({"t": "exit", "code": None, "signal": signal.Signals(os.WTERMSIG(status)).name})
    else:
        _send({"t": "exit", "code": os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1, "signal": None})
    os._exit(0)


# The box's output budget, as init.c's (FORWARD_BYTES per FORWARD_WINDOW_S to the host; past it read,
# dropped and counted, {t: "dropped", n}; the last TAIL_BYTES of dropped stderr sent at the end).
FORWARD_BYTES = 64 * 1024
FORWARD_WINDOW_S = 10.0
TAIL_BYTES = 4096
_budget = {"start": -FORWARD_WINDOW_S, "forwarded": 0, "dropped": 0, "tail": b""}


def _forward(fd: int, stream: int) -> bool:
    data = os.read(fd, 1 << 16)
    if not data:
        return False
    b = _budget
    now = time.monotonic()
    if now - b["start"] >= FORWARD_WINDOW_S:
        b["start"], b["forwarded"] = now, 0
        _send_dropped()
    room = FORWARD_BYTES - b["forwarded"]
    if len(data) > room:
        if room > 0:
            _send({"t": "out", "s": stream, "b": data[:room]})
            data = data[room:]
        b["forwarded"] = FORWARD_BYTES
        b["dropped"] += len(data)
        if stream == 2:
            b["tail"] = (b["tail"] + data)[-TAIL_BYTES:]
        return True
    b["forwarded"] += len(data)
    _send({"t": "out", "s": stream, "b": data})
    return True


def _send_dropped() -> None:
    if _budget["dropped"] > 0:
        _send({"t": "dropped", "n": min(_budget["dropped"], 0xFFFFFFFF)})
        _budget["dropped"] = 0


def _flush_dropped() -> None:
    """At the end: the count of what was dropped, then the dropped stderr's tail (a crash's traceback)."""
    tail = _budget["tail"]
    _budget["dropped"] -= min(len(tail), _budget["dropped"])
    _send_dropped()
    if tail:
        _send({"t": "out", "s": 2, "b": tail})


def _send(message: dict) -> None:
    body = msgpack.packb(message, use_bin_type=True)
    try:
        os.write(_report, len(body).to_bytes(4, "big") + body)  # blocking socket: writes it whole
    except OSError:  # the host is gone: nobody to tell
        pass
