"""The few Linux system calls the sandbox needs that Python 3.11's `os` module does not offer.

Each wrapper raises OSError with the errno on failure, like `os` functions do. x86_64 and
aarch64 numbers where a raw syscall is needed (see SYSCALLS); everything else goes through libc.
"""
import ctypes
import os
import platform

_libc = ctypes.CDLL(None, use_errno=True)
# Resolved now, at import (a zygote's forks inherit them): a CDLL resolves a symbol on first use
# (dlsym, a function object made and cached on the CDLL), which in a fresh fork is copy-on-write
# faults on the call path of the box (issue 11, docs/adr/0061-specialize-rehearsed-in-the-zygote.md).
for _name in ("mount", "umount2", "sethostname", "syscall", "unshare", "setns"):
    getattr(_libc, _name)
del _name

# clone/unshare flags
CLONE_FILES = 0x00000400
CLONE_THREAD = 0x00010000
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# mount flags
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2

# open_tree / move_mount (Linux 5.2)
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
OPEN_TREE_CLONE = 0x1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
MOVE_MOUNT_F_EMPTY_PATH = 0x4

# prctl options
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

MACHINE = platform.machine()
# Raw syscall numbers by architecture (only those libc does not wrap in glibc 2.36).
SYSCALLS = {
    "x86_64": {"pivot_root": 155, "capset": 126, "seccomp": 317, "open_tree": 428, "move_mount": 429},
    "aarch64": {"pivot_root": 41, "capset": 91, "seccomp": 277, "open_tree": 428, "move_mount": 429},
}.get(MACHINE)


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def setns(fd: int, nstype: int) -> None:
    """Moves this process into the namespace `fd` refers to (for CLONE_NEWPID: its future children)."""
    _check(_libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")


def mount(source, target: str, fstype, flags: int, data=None) -> None:
    enc = (lambda s: None if s is None else s.encode())
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def umount(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(target.encode(), ctypes.c_int(flags)), f"umount {target}")


def _syscall(name: str, *args) -> int:
    if SYSCALLS is None:
        raise OSError(38, f"{name}: unsupported architecture {MACHINE}")
    return _libc.syscall(ctypes.c_long(SYSCALLS[name]), *args)


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_syscall("pivot_root", new_root.encode(), put_old.encode()), "pivot_root")


def open_tree(path: str) -> int:
    """A detached copy of the mount tree at `path` (OPEN_TREE_CLONE | AT_RECURSIVE), as a descriptor
    that can be attached in another mount namespace (move_mount)."""
    fd = _syscall("open_tree", ctypes.c_int(AT_FDCWD), path.encode(),
                  ctypes.c_uint(OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"open_tree {path}: {os.strerror(err)}")
    return fd


def move_mount(fd: int, target: str) -> None:
    """Attaches the detached tree `fd` (open_tree) at `target`."""
    _check(_syscall("move_mount", ctypes.c_int(fd), b"", ctypes.c_int(AT_FDCWD), target.encode(),
                    ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH)), f"move_mount {target}")


def loopback_up() -> None:
    """Brings `lo` up in this (new, empty) network namespace: SIOCSIFFLAGS with IFF_UP | IFF_RUNNING."""
    import fcntl
    import socket
    import struct
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock, 0x8914, struct.pack("16sh22x", b"lo", 0x1 | 0x40))


_prctl = _libc.prctl
_prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)


def prctl(option: int, arg2: int = 0, arg3: int = 0) -> None:
    if _prctl(option, arg2, arg3, 0, 0) != 0:
        _check(-1, f"prctl {option}")


def sethostname(name: str) -> None:
    data = name.encode()
    _check(_libc.sethostname(data, ctypes.c_size_t(len(data))), "sethostname")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def clear_capabilities() -> None:
    """Empties the effective, permitted and inheritable sets of this thread (and ambient)."""
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:  # kernels before 4.3 have no ambient set: nothing to clear
        pass
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(_syscall("capset", ctypes.byref(header), ctypes.byref(data)), "capset")


_cap_last = []


def cap_last_cap() -> int:
    """The kernel's highest capability number, read once per process (a zygote reads it before forking)."""
    if not _cap_last:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            _cap_last.append(int(f.read()))
    return _cap_last[0]


def drop_bounding_set() -> None:
    """Removes every capability from the bounding set (needs CAP_SETPCAP)."""
    for cap in range(cap_last_cap() + 1):
        prctl(PR_CAPBSET_DROP, cap)


class _Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


class SeccompProgram:
    """A filter ready to install: the struct is built once (at spawn), installing is one call."""
    __slots__ = ("_buf", "_prog")

    def __init__(self, program: bytes):
        self._buf = ctypes.create_string_buffer(program, len(program))
        self._prog = _Prog(len(program) // 8, ctypes.cast(self._buf, ctypes.c_char_p))

    def install(self) -> None:
        """Applies the filter to every thread of the process (SECCOMP_SET_MODE_FILTER, TSYNC)."""
        _check(_syscall("seccomp", ctypes.c_uint(1), ctypes.c_uint(1), ctypes.byref(self._prog)), "seccomp")
