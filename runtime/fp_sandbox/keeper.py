"""Spawn-time half of the box: three processes per runtime (two when a zygote forks it in root
mode: `init` below).

    keeper (K)   the process the host spawned, in the host's PID namespace. It joins the
                 instance's cgroups, creates the namespaces, forks I, and waits. When the runtime
                 dies it dies the same way (same exit code or signal), so the host sees the
                 runtime's own death. Killing K (the host's timeout or shutdown) kills the box:
                 I has PDEATHSIG=SIGKILL, and when a PID namespace's init dies the kernel kills
                 every process in it, however they were forked, detached or renamed.
    init (I)     PID 1 of the new PID namespace. It builds the mount view (view.py), forks R,
                 reaps orphans, and exits with R's status (handed to K through a pipe).
    runtime (R)  PID 2: returns from start() into the normal runtime (fp_runtime.main), still
                 privileged inside its namespaces so it can take on a function later
                 (enter.py). It is born without what it will never need: I dropped the
                 capability bounding set and set no_new_privs before forking it (inherited).

Forked by a zygote in root mode (docs/adr/0019-zygotes.md), there is no K: the zygote unshares a
PID namespace for the fork, so its child is I itself (`init`), which reports to the host on the
fork's report channel as K would (forked.py). Its root is a copy of one prepared once
(template.py) plus the box's own mounts; it moves itself and R into the cgroups after forking R,
and R's specialize waits for that. Once R is forked, I exec's the native init (init.c) for all
of that when it is built (docs/adr/0026-native-init.md).

Modes: "root" (the platform runs as root: new mount, PID, IPC and UTS namespaces; the function
gets its own uid at specialize) and "userns" (not root: the same plus a user namespace mapping
the platform's uid to uid 1000 inside; the function keeps that uid, without capabilities; or,
with the platform user's subordinate ids, 0 to the platform's uid and 1000 to a subordinate one,
which the function takes at specialize: `_unshare_mapped`, docs/adr/0141-per-user-kernel-limits-in-user-namespace-mode.md).
`"net": "none"` (the dependency builder's box) adds a network namespace of its own with only
loopback up: it reaches the package index through the host's proxy socket, nothing else.
"""
import os
import select
import signal

# enter (the specialize step) is imported here, outside the box: inside it the runtime's directory
# is read-only, so a first import there would compile it from source on every cold start (~1.4 ms).
from . import atfork, enter, forked, libc, seccomp, view  # noqa: F401

INNER_UID = 1000


class Box:
    """What R keeps from spawn for the specialize step: the mode, the second seccomp stage, and
    (a forked box whose cgroups are joined after hello) the pipe that says they are. Until
    `settle`, R still holds what it inherited from I (`kept`: the descriptors it keeps)."""
    __slots__ = ("mode", "seccomp", "joined", "kept", "work_bytes", "work_made", "common_made")

    def __init__(self, mode, enter_filter, joined=-1, kept=None, work_bytes=0):
        self.mode = mode
        self.seccomp = enter_filter
        self.joined = joined
        self.kept = kept
        self.work_bytes = work_bytes  # the writable layer's tmpfs over /code (root mode), made by `ahead`
        self.work_made = False
        self.common_made = False  # enter.common_steps made (`ahead`)

    def settle(self) -> None:
        """R, right after its hello and before it reads any message (fp_runtime/main.py): closes
        every inherited descriptor but stdio, the host socket and the joined pipe, and runs the
        at-fork hooks a bare fork left pending (fp_sandbox/atfork.py). Nothing of it is needed for
        the hello, which the host counts as the runtime being ready
        (docs/adr/0127-runtime-hello-first.md)."""
        if self.kept is not None:
            _close_others(self.kept)
            self.kept = None
        atfork.run_pending()

    def ahead(self, host_fd: int = -1) -> None:
        """R, once settled and before it reads a message: the steps of the box that are the same for
        every function, done while the runtime waits in the pool instead of on a cold start's path
        (bench/README.md "Where the time goes", cold3; docs/adr/0261-box-steps-ahead.md). Every
        rlimit's hard limit set to its soft one (`enter.become` step 4: nothing between here and
        the uid drop changes a limit, and what it asks for is still applied there), HOME and USER
        (`enter.common_steps`: the function's env is applied after them, as before), and the
        writable layer's tmpfs with its two folders (`enter._overlay_code`: the upper one is
        chowned to the function's uid there), and then, if it comes before the first message on
        `host_fd`, init's word that the cgroups are joined (`forked.wait_joined`: a failed join
        still fails the specialize). Nothing of a function exists yet; the tmpfs is under /.fp,
        covered at specialize as before. A step that fails here is done at specialize, where a
        failure fails the specialization."""
        try:
            enter.common_steps()
            self.common_made = True
        except OSError:
            pass
        if self.work_bytes > 0:
            try:
                enter.make_work(self.work_bytes)
                self.work_made = True
            except OSError:
                pass
        if self.joined >= 0 and host_fd >= 0:
            waiting = select.poll()
            waiting.register(self.joined, select.POLLIN)
            waiting.register(host_fd, select.POLLIN)
            if any(fd == self.joined for fd, _ in waiting.poll()):
                forked.take_joined(self)


def start(cfg: dict, keep_fd: int, report_fd: int = -1) -> Box:
    """Runs K and I (never returning in them); returns in R with the box state.
    `report_fd` >= 0: this K was forked by a zygote (fp_runtime/zygote.py) in user-namespace mode
    and reports on that channel instead of dying like R (forked.py)."""
    mode = cfg.get("mode", "root")
    # A K the host spawned dies with the host, and I with K, so the whole box goes with a platform
    # killed outright. Without it a handler busy in a loop never read the closed channel and ran on
    # for ever, past its timeout, with no one to enforce it (a SIGKILLed platform's async attempt
    # then ran twice at once after the restart: reliability probe 2026-12-04). A K a zygote forked
    # must outlive the zygote (it is restarted; its runtimes serve on): it watches the host's end
    # of its report channel instead (forked.keep).
    if report_fd < 0:
        libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setsid()  # no controlling terminal: nothing can be typed into the operator's shell (TIOCSTI)
    for procs in cfg.get("cgroupJoin") or []:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
    output = forked.redirect_output() if report_fd >= 0 else None
    status_r, status_w = os.pipe()
    life_r, life_w = os.pipe()
    flags = libc.CLONE_NEWNS | libc.CLONE_NEWPID | libc.CLONE_NEWIPC | libc.CLONE_NEWUTS
    if cfg.get("net") == "none":
        flags |= libc.CLONE_NEWNET
    if mode == "userns" and cfg.get("idmap"):
        _unshare_mapped(flags, cfg["idmap"])
    elif mode == "userns":
        uid, gid = os.geteuid(), os.getegid()
        libc.unshare(flags | libc.CLONE_NEWUSER)
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{INNER_UID} {uid} 1")
        _write("/proc/self/gid_map", f"{INNER_UID} {gid} 1")
    else:
        libc.unshare(flags)
    pid = os.fork()
    if pid == 0:
        os.close(status_r)
        os.close(life_w)
        return _init(cfg, status_w, life_r, keep_fd)
    os.close(status_w)
    os.close(life_r)
    os.close(keep_fd)  # only R talks to the host; K must not keep the socket open after R died
    if output is not None:
        forked.keep(pid, status_r, report_fd, output)
    _keep(pid, status_r)
    raise AssertionError("unreachable")


def _unshare_mapped(flags: int, idmap: dict) -> None:
    """User-namespace mode with a subordinate uid and gid of the platform's user (docs/adr/0141):
    inside, 0 is the platform's own uid (K, I and R until specialize, with the namespace's
    capabilities) and INNER_UID onwards the subordinate ones (`count` of them), one of which the function
    takes at specialize (enter.become). So the function's processes are a host uid of their own, and the kernel's
    per-user counters (epoll watches, pipe pages, ...) are not the platform's: one function took
    every epoll watch of the platform's uid, and the platform aborted. Only the setuid newuidmap
    and newgidmap may write such a map, and only from outside the namespace (a setuid program does
    nothing inside it): a helper forked before the unshare runs them on K."""
    uid, gid = os.geteuid(), os.getegid()
    # The whole range from the first subordinate id: each function takes one of them at specialize
    # (the host's pick, its `uid`), so functions are apart from each other too (docs/adr/0146).
    span = max(1, int(idmap.get("count", 1)))
    go_r, go_w = os.pipe()
    helper = os.fork()
    if helper == 0:
        try:
            os.close(go_w)
            # Nothing of the box (the host socket, the output pipes) reaches the setuid programs.
            os.closerange(3, go_r)
            os.closerange(go_r + 1, 1 << 16)
            os.read(go_r, 1)
            target = str(os.getppid())
            for tool, own, sub in ((idmap["newgidmap"], gid, idmap["gid"]), (idmap["newuidmap"], uid, idmap["uid"])):
                pid = os.fork()
                if pid == 0:
                    os.dup2(os.open(os.devnull, os.O_RDWR), 1)
                    os.execv(tool, [tool, target, "0", str(own), "1", str(INNER_UID), str(int(sub)), str(span)])
                _, status = os.waitpid(pid, 0)
                if status != 0:
                    os._exit(1)
            os._exit(0)
        except BaseException:
            os._exit(1)
    os.close(go_r)
    try:
        libc.unshare(flags | libc.CLONE_NEWUSER)
    finally:
        os.write(go_w, b"x")
        os.close(go_w)
    _, status = os.waitpid(helper, 0)
    if status != 0:
        raise OSError(f"newuidmap/newgidmap could not map uid {idmap['uid']} and gid {idmap['gid']} (the platform user's subordinate ids)")


def init(cfg: dict, keep_fd: int, template_fd: int = -1, first=None, bounded: bool = False) -> Box:
    """A zygote's child in root mode, already PID 1 of a PID namespace of its own (the zygote
    unshared it for this fork; docs/adr/0019-zygotes.md): the box's init, and its reporter in
    place of a keeper (forked.py). It builds the box as `_init` does, its root from the prepared
    one when there is one (`_enter_box`), forks R, moves itself and R into their cgroups (after R's
    fork: each cgroup.procs write of cgroup v1 may wait for an RCU grace period, and R says hello
    meanwhile), loses its privileges, then tells R (whose specialize waits for that) and serves
    (forked.serve_init). Once R is forked, I exec's the native init (init.c, docs/adr/0026-native-init.md)
    that does all of that after the fork with none of the interpreter's memory; this Python half
    goes on only where it is not built or could not be exec'd. Never returns in I; returns in R.
    No setsid: the zygote's session has no controlling terminal already (fp_runtime/zygote.py),
    and a setsid here costs milliseconds. `first`: called in R before anything else (its hello:
    docs/adr/0127-runtime-hello-first.md). `bounded`: the zygote dropped the capability bounding
    set before forking I (inherited: `_limit` has nothing to drop; docs/adr/0136-bounding-set-in-the-zygote.md)."""
    own_stat = forked.own_stat()  # announced once the box is built, before R is forked
    procs = forked.open_procs(cfg.get("cgroupJoin") or [])  # on the host's root
    output = forked.redirect_output()
    joined_r, joined_w = os.pipe()
    try:
        _enter_box(cfg, template_fd, bounded)
    except Exception:  # said to the host: stderr is a pipe nobody reads yet
        import traceback
        forked.failed(traceback.format_exc())
    # The pid before R exists: R says hello right after its fork, and the host reads the hello
    # only once it knows whom to signal (sent after the fork, the hello waited for I to get a CPU
    # again; docs/adr/0127-runtime-hello-first.md).
    forked.announce(own_stat)
    # No at-fork hooks here (I has one thread, and starts none): R runs them after its hello.
    pid = atfork.fork_bare(one_thread=True, hooks_later=True)
    if pid == 0:
        if first is not None:
            first()
        return _runtime(cfg, keep_fd, joined_r)
    os.close(keep_fd)
    os.close(joined_r)
    forked.exec_init(pid, procs, output, joined_w)  # the rest in C (init.c); returns if it could not
    pidfd = os.pidfd_open(pid)
    try:
        forked.join(procs, pid)
        _lose_privileges()
        os.write(joined_w, b"1")  # R may take on a function now
    except OSError as err:
        forked.abandon(pid, err)
    os.close(joined_w)
    forked.serve_init(pid, pidfd, output)
    raise AssertionError("unreachable")


def _enter_box(cfg: dict, template_fd: int, bounded: bool = False) -> None:
    """I of a forked box: its own mount, IPC and UTS namespaces, its root a copy of the prepared
    one (`template_fd`, fp_sandbox/template.py: a copy of its mount namespace plus the box's own
    mounts) when there is one, else built whole; the hostname; `_limit`."""
    if template_fd >= 0:
        cgroups = view.detach_cgroups(cfg)
        libc.setns(template_fd, libc.CLONE_NEWNS)
        os.close(template_fd)
        libc.unshare(libc.CLONE_NEWNS | libc.CLONE_NEWIPC | libc.CLONE_NEWUTS)
        view.finish(cfg, cgroups)
    else:
        libc.unshare(libc.CLONE_NEWNS | libc.CLONE_NEWIPC | libc.CLONE_NEWUTS)
        view.build(cfg)
    libc.sethostname("fp-runtime")
    _limit(bounded)


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _keep(init_pid: int, status_r: int) -> None:
    """K: wait for I, then die as R died."""
    while True:
        try:
            _, status = os.waitpid(init_pid, 0)
            break
        except InterruptedError:
            continue
    data = os.read(status_r, 32)
    if data:
        status = int(data)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):  # their disposition cannot be set (EINVAL): an OOM kill ended here in a traceback and exit 1
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def _init(cfg: dict, status_w: int, life_r: int, keep_fd: int) -> Box:
    """I: PID 1. Builds the view, forks R (which returns), then reaps until R is gone."""
    libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)
    forked.close_report()  # a forked K's report channel is K's alone
    if select.select([life_r], [], [], 0)[0]:  # K died before PDEATHSIG was armed
        os._exit(1)
    view.build(cfg)
    if cfg.get("net") == "none":
        libc.loopback_up()
    libc.sethostname("fp-runtime")
    _limit()
    pid = os.fork()
    if pid == 0:
        os.close(status_w)
        os.close(life_r)
        return _runtime(cfg, keep_fd)
    os.close(keep_fd)
    _lose_privileges()
    while True:
        try:
            child, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(1)
        if child == pid:
            os.write(status_w, str(status).encode())
            os._exit(0)


# The host's OOM killer ends the process with the most memory, scaled by this (-1000..1000): a box's
# processes come before the platform's whatever sizes an attacker gives them (red team round 43: a
# box's memory split over children of 48 MiB left the platform the biggest process, and the kernel
# killed it; docs/adr/0209-boxes-memory-total.md). Written by I while it has its capabilities (root
# mode: CAP_SYS_RESOURCE makes it the floor too), so R and every process of the box inherit it and
# may raise it, never lower it. Without CAP_SYS_RESOURCE (user-namespace mode, a container that drops
# it) the box's /proc, read-only from specialize on (enter.py `become`), keeps the function from it.
OOM_SCORE_ADJ = b"500"


def _prefer_for_oom() -> None:
    try:
        fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, OOM_SCORE_ADJ)
        finally:
            os.close(fd)
    except OSError:  # no /proc here: the boxes' memory total (poolmgr/host/cgroups.ts) still holds
        pass


def _limit(bounded: bool = False) -> None:
    """I, before it forks R (which inherits all three, for life): no capability bounding set, no
    way to gain privileges (no_new_privs), and the first seccomp filter. Done once here rather
    than in each process. The filter goes on in I, whose last namespace or mount call is behind
    it (what I does from here on, native or not: fork R, execve, prctl, capset, cgroup writes,
    pidfd, wait, is allowed), not in R: R is then under it from its first instruction, and in a
    fresh fork the install costs ~0.1 ms more than in I (ctypes' first call there; bench/README.md
    3e, docs/adr/0049-seccomp-in-init.md). `bounded`: I's bounding set is empty already, dropped
    by the zygote that forked it in the same user namespace (`init`; ADR 0136): 41 `prctl` calls
    fewer on the ready path."""
    if not bounded:
        libc.drop_bounding_set()
    _prefer_for_oom()
    libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1)
    spawn_filter = seccomp.compiled("spawn")
    if spawn_filter is not None:
        spawn_filter.install()


def _lose_privileges() -> None:
    """I needs nothing but waitpid (and its report channel) from here on: no capabilities, and no
    /proc/1/mem for anyone."""
    libc.prctl(libc.PR_SET_DUMPABLE, 0)
    libc.clear_capabilities()


def _runtime(cfg: dict, keep_fd: int, joined_r: int = -1) -> Box:
    """R: its box state. The bounding set, no_new_privs and the first seccomp filter it inherited
    from I (`_limit`); every inherited descriptor but stdio, the host socket (and the pipe saying
    its cgroups are joined) is closed by `Box.settle`, after the hello."""
    kept = sorted({keep_fd, joined_r} - {-1})
    mode = cfg.get("mode", "root")
    # The host's workBytes for the overlay (poolmgr/host/process-host.ts `place`) is its tmpBytes.
    work = int(cfg.get("tmpBytes") or 0) if mode == "root" else 0
    return Box(mode, seccomp.compiled("enter"), joined_r, kept, work)


def _close_others(kept: list) -> None:
    """Closes every descriptor above stdio but `kept` (sorted)."""
    low = 3
    for fd in kept:
        for other in range(low, fd):
            _close_quietly(other)
        low = fd + 1
    os.closerange(low, 1 << 16)


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
