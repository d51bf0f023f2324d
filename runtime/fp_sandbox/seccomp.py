"""The seccomp filters a function runs under: deny lists compiled to classic BPF by hand.

Two stages, because installing a filter costs time (the kernel checks and JIT-compiles it) and
specialize is on the cold-start path: the big filter goes on at spawn, in the box's init just
before it forks the generic runtime (keeper.py `_limit`, docs/adr/0049-seccomp-in-init.md);
a tiny one at specialize adds what the runtime itself still needed until then (mount and
umount2, to bind the function's code). Filters stack: a call passes only if every one allows it.
A denied call fails with EPERM (user code sees PermissionError, never a dead process); a call
from another architecture's ABI (x32, or a 32-bit entry on x86_64) kills the process, since its
numbers would slip past the list. What is denied and why: docs/security.md ("System calls").
Only x86_64 is supported: on other machines `compiled()` returns None and the sandbox reports
seccomp as unavailable instead of guessing syscall numbers.
"""
import struct

from . import libc

# Denied on x86_64, by number. Grouped by what they would let a function do.
DENIED_X86_64 = {
    # read or write another process's memory, steal its descriptors
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_getfd": 438,
    "kcmp": 312, "process_madvise": 440, "process_mrelease": 448,
    # change the filesystem view or namespaces, leave the box (mount and umount2: ENTER_STAGE)
    "pivot_root": 155, "chroot": 161, "setns": 308, "unshare": 272,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "open_by_handle_at": 304, "name_to_handle_at": 303,
    # the kernel itself: modules, kexec, BPF, tracing, keyrings, io_uring, userfaultfd
    # Linux native AIO: every io_setup draws on fs.aio-nr, one counter for the whole host (65536
    # by default), which no cgroup or rlimit bounds; one call of a function took all of it and
    # every other io_setup on the host failed with EAGAIN (red team of 2026-12-05, fourth round)
    "io_setup": 206, "io_destroy": 207, "io_getevents": 208, "io_submit": 209, "io_cancel": 210,
    "io_pgetevents": 333,
    "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
    "delete_module": 176, "bpf": 321, "perf_event_open": 298, "keyctl": 250, "add_key": 248,
    "request_key": 249, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "userfaultfd": 323, "lookup_dcookie": 212, "syslog": 103, "uselib": 134,
    # memory taken out of the kernel's direct map: each page splits the huge pages mapping it there,
    # which slows every process of the host a little (why the kernel first kept it behind a boot
    # option); no function needs it (red team of 2026-12-06, round 17)
    "memfd_secret": 447,
    # the page cache's state of a file (red team round 21, red24): every box reads the same host
    # files (the interpreter, its library, the presets' packages, a dependency site shared by lock),
    # so what is cached tells one tenant what another's processes read; see @fadvise below
    "cachestat": 451,
    # inotify: every box reads the same host files (/usr, the interpreter, /etc/resolv.conf, the CA
    # bundle), and a watch on one reports every process's open and read of it, another tenant's
    # imports and the host's TLS handshakes included (red team of 2026-12-06, round 17); in
    # user-namespace mode the 128 instances are the platform uid's, for every box at once
    "inotify_init": 253, "inotify_add_watch": 254, "inotify_init1": 294,
    # the machine: clock, swap, reboot, accounting, quotas, I/O ports
    "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163, "settimeofday": 164,
    "clock_settime": 227, "clock_adjtime": 305, "adjtimex": 159, "iopl": 172, "ioperm": 173,
    "quotactl": 179, "quotactl_fd": 443, "vhangup": 153, "nfsservctl": 180, "_sysctl": 156,
}
# Denied from specialize on (the runtime binds the function's code with mount and umount2 first).
ENTER_STAGE_X86_64 = {"mount": 165, "umount2": 166}
# Denied to functions from specialize on, not to a dependency build (whose box has a network
# namespace of its own, where pip's proxy listens on loopback: fp_deps/forward.py). listen: a
# function serves through the platform only; a socket of its own listening on a port of the host's
# network (or an abstract name) could take a host service's port before it starts and read what its
# clients send (a password to Redis), or serve the outside world past the gateway.
FUNCTION_STAGE_X86_64 = {"listen": 50}
# The platform's code check where it runs unboxed (the Kubernetes host, `--unsafe-no-sandbox`;
# runtime/validate.py `--sealed`, docs/adr/0232): it reads files and answers on a pipe it has, so it
# needs no socket, no new process and no exec. Stacked on the spawn filter, which checks the ABI.
CHECK_STAGE_X86_64 = {"socket": 41, "socketpair": 53, "clone": 56, "fork": 57, "vfork": 58, "execve": 59,
                      "execveat": 322, "clone3": 435}
CLONE_X86_64 = 56
CLONE3_X86_64 = 435
CLOSE_RANGE_X86_64 = 436
CLOSE_RANGE_UNSHARE = 0x2
SOCKET_X86_64 = 41
SOCKETPAIR_X86_64 = 53
# Socket families a function never needs, each a way out of the box or into rarely exercised kernel
# code: AF_VSOCK talks to the hypervisor of a VM (as Docker's default profile, denied), AF_ALG is
# the kernel's crypto API (its bugs were local root more than once; Python's hashlib uses OpenSSL).
DENIED_SOCKET_FAMILIES = {"AF_ALG": 38, "AF_VSOCK": 40}
PERSONALITY_X86_64 = 135
X32_SYSCALL_BIT = 0x40000000
AUDIT_ARCH_X86_64 = 0xC000003E

# clone() flags that create namespaces: a function may fork and thread, never unshare.
NAMESPACE_FLAGS = (libc.CLONE_NEWNS | libc.CLONE_NEWCGROUP | libc.CLONE_NEWUTS | libc.CLONE_NEWIPC
                   | libc.CLONE_NEWUSER | libc.CLONE_NEWPID | libc.CLONE_NEWNET)

_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
RET_KILL_PROCESS = 0x80000000
RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
EPERM = 1
ENOSYS = 38

# offsets in struct seccomp_data
_NR = 0
_ARCH = 4
_ARG0_LOW = 16
_ARG2_LOW = 32
_ARG3_LOW = 40
_ARG5_LOW = 56

# The page cache of the files every box shares (red team round 21, red24): a box could drop their
# pages (posix_fadvise DONTNEED, or madvise PAGEOUT of its own mapping of them) and then see whether
# another tenant's process read them since (a read with RWF_NOWAIT fails with EAGAIN when the page
# is not cached): which modules another function imports and when, and every other tenant's
# imports of those files went to the disk again. DONTNEED and PAGEOUT are skipped, answered as done
# (advice only: nothing a program relies on); RWF_NOWAIT answers EOPNOTSUPP, as on a file system
# without it, so the caller reads as usual.
FADVISE64_X86_64 = 221
MADVISE_X86_64 = 28
PREADV2_X86_64 = 327
PWRITEV2_X86_64 = 328
POSIX_FADV_DONTNEED = 4
MADV_PAGEOUT = 21
RWF_NOWAIT = 0x8
EOPNOTSUPP = 95


def _ins(code, k, jt=0, jf=0):
    return (code, jt, jf, k)


def _assemble(body, labels):
    """Resolves symbolic jump targets ('@name') to relative offsets and packs the program."""
    out = []
    for index, (code, jt, jf, k) in enumerate(body):
        def rel(target):
            if isinstance(target, str):
                offset = labels[target.lstrip("@")] - index - 1
                if not 0 <= offset <= 255:
                    raise ValueError(f"jump to {target} out of range")
                return offset
            return target
        out.append(struct.pack("=HBBI", code, rel(jt), rel(jf), k))
    return b"".join(out)


_PROGRAMS = {}


def compiled(stage: str):
    """The filter of `stage` ready to install: "spawn" (a runtime's first), "enter" (a function's,
    at specialize), "build" (a dependency build's, in its own network namespace) or "check" (the
    unboxed code check's, after "spawn": runtime/validate.py `--sealed`); None on other
    architectures. Assembled once per process (a zygote assembles them before forking:
    docs/adr/0019-zygotes.md)."""
    if libc.MACHINE != "x86_64":
        return None
    program = _PROGRAMS.get(stage)
    if program is None:
        if stage == "spawn":
            body = spawn_program()
        elif stage == "enter":
            body = enter_program({**ENTER_STAGE_X86_64, **FUNCTION_STAGE_X86_64})
        elif stage == "build":
            body = enter_program(ENTER_STAGE_X86_64)
        elif stage == "check":
            body = enter_program(CHECK_STAGE_X86_64)
        else:
            raise ValueError(f"no seccomp stage {stage!r}")
        program = _PROGRAMS[stage] = libc.SeccompProgram(body)
    return program


def enter_program(denied: dict) -> bytes:
    """A specialize-time filter: the calls of `denied` refused, everything else left to the first."""
    body = [_ins(_LD_W_ABS, _NR)]
    for nr in sorted(denied.values()):
        body.append(_ins(_JEQ_K, nr, "@deny", 0))
    body.append(_ins(_RET_K, RET_ALLOW))
    labels = {"deny": len(body)}
    body.append(_ins(_RET_K, _RET_ERRNO | EPERM))
    return _assemble(body, labels)


def spawn_program() -> bytes:
    """The spawn-time filter: architecture check, the deny list, clone and personality rules.

    The numbers are looked up by a binary search (a tree of JGE tests), not one JEQ after another:
    the kernel runs a new filter once per syscall number when it is installed (its cache of
    always-allowed calls) and JIT-compiles it, so a short path per number makes the install, on
    every spawn, ~60 us cheaper (bench/README.md 3e); and each call from the function passes ~7
    tests instead of ~60."""
    body = [
        _ins(_LD_W_ABS, _ARCH),
        _ins(_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        _ins(_RET_K, RET_KILL_PROCESS),
        _ins(_LD_W_ABS, _NR),
        _ins(_JGE_K, X32_SYSCALL_BIT, "@kill", 0),
    ]
    rules = {nr: "@deny" for nr in set(DENIED_X86_64.values())}
    rules.update({CLONE_X86_64: "@clone", CLONE3_X86_64: "@enosys", PERSONALITY_X86_64: "@personality",
                  CLOSE_RANGE_X86_64: "@close_range", SOCKET_X86_64: "@socket", SOCKETPAIR_X86_64: "@socket",
                  FADVISE64_X86_64: "@fadvise", MADVISE_X86_64: "@madvise", PREADV2_X86_64: "@rwf",
                  PWRITEV2_X86_64: "@rwf"})
    labels = {}
    _search(body, labels, sorted(rules.items()), "root")
    labels["allow"] = len(body)
    body.append(_ins(_RET_K, RET_ALLOW))
    # clone(flags, ...): allowed unless a namespace flag is set, or a thread would get a descriptor
    # table of its own (CLONE_THREAD without CLONE_FILES): the open-file guard counts a process's
    # table, /proc/<pid>/fd, and each such thread could hold RLIMIT_NOFILE more files unseen (red
    # team of 2026-12-05, third round: six instances held 55 % of the host's file table).
    labels["clone"] = len(body)
    body += [
        _ins(_LD_W_ABS, _ARG0_LOW),
        _ins(_JSET_K, NAMESPACE_FLAGS, "@deny", 0),
        _ins(_JSET_K, libc.CLONE_THREAD, 0, "@callow"),
        _ins(_JSET_K, libc.CLONE_FILES, "@callow", "@deny"),
    ]
    # close_range(first, last, flags): not with CLOSE_RANGE_UNSHARE, the other way to a table of a
    # thread's own (unshare itself is denied)
    labels["close_range"] = len(body)
    body += [_ins(_LD_W_ABS, _ARG2_LOW), _ins(_JSET_K, CLOSE_RANGE_UNSHARE, "@deny", "@callow")]
    # socket(family, ...), socketpair(family, ...): not of the families denied (red team of
    # 2026-12-05, fourth round: nothing stopped AF_VSOCK)
    labels["socket"] = len(body)
    body.append(_ins(_LD_W_ABS, _ARG0_LOW))
    for family in sorted(DENIED_SOCKET_FAMILIES.values()):
        body.append(_ins(_JEQ_K, family, "@deny", 0))
    labels["callow"] = len(body)
    body.append(_ins(_RET_K, RET_ALLOW))
    # personality(persona): only the query (0xffffffff) and plain Linux (0)
    labels["personality"] = len(body)
    body += [_ins(_LD_W_ABS, _ARG0_LOW), _ins(_JEQ_K, 0, "@pallow", 0), _ins(_JEQ_K, 0xFFFFFFFF, "@pallow", "@deny")]
    labels["pallow"] = len(body)
    body.append(_ins(_RET_K, RET_ALLOW))
    # the page cache of shared files (FADVISE64_X86_64 above): its advice dropped, answered 0
    labels["fadvise"] = len(body)
    body += [_ins(_LD_W_ABS, _ARG3_LOW), _ins(_JEQ_K, POSIX_FADV_DONTNEED, "@skip", "@rallow")]
    labels["madvise"] = len(body)
    body += [_ins(_LD_W_ABS, _ARG2_LOW), _ins(_JEQ_K, MADV_PAGEOUT, "@skip", "@rallow")]
    labels["rwf"] = len(body)
    body += [_ins(_LD_W_ABS, _ARG5_LOW), _ins(_JSET_K, RWF_NOWAIT, "@eopnotsupp", "@rallow")]
    labels["rallow"] = len(body)
    body.append(_ins(_RET_K, RET_ALLOW))
    labels["eopnotsupp"] = len(body)
    body.append(_ins(_RET_K, _RET_ERRNO | EOPNOTSUPP))
    labels["skip"] = len(body)
    body.append(_ins(_RET_K, _RET_ERRNO | 0))
    # clone3 passes its flags in memory, where BPF cannot look: ENOSYS makes libc fall back to clone
    labels["enosys"] = len(body)
    body.append(_ins(_RET_K, _RET_ERRNO | ENOSYS))
    labels["deny"] = len(body)
    body.append(_ins(_RET_K, _RET_ERRNO | EPERM))
    labels["kill"] = len(body)
    body.append(_ins(_RET_K, RET_KILL_PROCESS))
    return _assemble(body, labels)


_LEAF = 4


def _search(body: list, labels: dict, rules: list, name: str) -> None:
    """Appends the test of the accumulator (a syscall number) against `rules` ((number, label)
    pairs, sorted): JEQs for a few, else a JGE on the middle one splitting them in two. A number
    that matches none jumps to "@allow"."""
    if len(rules) <= _LEAF:
        for nr, target in rules:
            body.append(_ins(_JEQ_K, nr, target, 0))
        body.append(_ins(_JEQ_K, 0, "@allow", "@allow"))  # both ways to "@allow": an unconditional jump
        return
    middle = len(rules) // 2
    body.append(_ins(_JGE_K, rules[middle][0], f"@{name}h", 0))
    _search(body, labels, rules[:middle], name + "l")
    labels[name + "h"] = len(body)
    _search(body, labels, rules[middle:], name + "h")
