"""The filesystem a runtime sees: a fresh root built at spawn, in the runtime's own mount namespace.

    /usr, /bin, /lib…     the host's, read-only (symlinks kept as symlinks)
    /etc                  a few host files read-only (DNS, TLS roots, time zone, loader cache)
                          plus passwd/group: read-only binds of the box's own files in /.fp/id,
                          written for the function at specialize
    <python prefixes>     the interpreter and its virtual environment, read-only, at their paths
    <runtime dir>         this code, read-only, at its path (neither at, under or above a mount
                          point of the box's own: install.py, checked before anything is mounted)
    /proc                 a new proc for the runtime's PID namespace (others' processes hidden),
                          read-only from specialize on (enter.py `become`: no oom_score_adj written)
    /dev                  null, zero, full, random, urandom; /dev/shm (capped tmpfs)
    /tmp                  a private tmpfs with a size cap
    /sys/devices/system/cpu   read-only (CPU counts)
    /code                 empty until specialize binds the function's version there, read-only
    /deps                 empty until specialize binds the version's dependency site there, read-only
    /run/fp-data          empty until specialize binds the function's data socket directory there
                          (read-only: connecting to a socket needs no write access to the mount)
    /run/fp-tpl           empty until a template's specialize binds its own socket directory there
                          (docs/adr/0030-function-templates.md)
    /.fp                  hidden until specialize: the code roots and the deps root (read-only),
                          the cgroup directories the runtime joins and the identity originals
                          (id/); covered before any user code runs by an empty read-only
                          tmpfs (`cover_hidden`), which nothing in the box can remove
    <binds>               the dependency builder's box only (runtime/deps_build.py): its own
                          staging directories and the local wheel directory, at fixed paths

Built like bubblewrap does: a tmpfs over /tmp becomes a staging root with the host's root moved
under it (so host paths stay reachable while binding), the box root is assembled beside it, and a
second pivot_root leaves only the box. Nothing here changes the host's mounts: the namespace is
made private first. docs/security.md describes the view; docs/adr/0010-sandbox.md the choices.

Two parts: `_shared`, the same for every box of one configuration, and `_own`, the box's alone.
`build` does both for one box. A zygote in root mode has `prepare` run once (the shared part, in a
mount namespace it keeps: fp_sandbox/template.py), and each box it forks copies that namespace
and runs `finish` (its own part) in the copy: the same view either way. Cgroup directories are
taken as detached mounts (`open_tree`, Linux 5.2) on the host's root and moved in.
"""
import os
import sys

from . import install, libc

ETC_FILES = ("resolv.conf", "hosts", "host.conf", "nsswitch.conf", "gai.conf", "services", "protocols",
             "localtime", "timezone", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "ca-certificates",
             "ca-certificates.conf", "mime.types", "os-release", "alternatives", "pki", "crypto-policies")
DEVICES = ("null", "zero", "full", "random", "urandom")
TOP_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")

_ST_FLAGS = ((1, libc.MS_RDONLY), (2, libc.MS_NOSUID), (4, libc.MS_NODEV), (8, libc.MS_NOEXEC),
             (1024, 1024), (2048, 2048), (4096, 1 << 21))  # statvfs ST_* -> MS_* (noatime, nodiratime, relatime)

PASSWD = "root:x:0:0:root:/root:/usr/sbin/nologin\n{user}:x:{uid}:{gid}:function:/tmp:/usr/sbin/nologin\n"
GROUP = "root:x:0:\n{user}:x:{gid}:\n"
# System V IPC limits of the box's own IPC namespace (written by `_own`): no shared memory segment
# outlives its last user (a box's IPC namespace lives as long as the box: a template's outlives the
# instances forked from it, and a detached segment is charged to no live cgroup), and message queues
# and semaphores stay small. Defaults: 4096 segments of any size, 32000 queues of 16 KiB, 32000 sets.
IPC_LIMITS = (("kernel/shm_rmid_forced", "1"), ("kernel/shmmni", "64"), ("kernel/msgmni", "16"),
              ("kernel/sem", "250 4096 32 128"))
# The writable originals of the box's /etc/passwd and /etc/group (a tmpfs of its own, gone with /.fp).
IDENTITY = "/.fp/id"
HIDDEN = "/.fp"
WORK = "/.fp/work"  # mount point of the instance's writable layer over /code (fp_sandbox/enter.py)


def locked_flags(path: str) -> int:
    """The mount flags a bind remount must keep (in a user namespace they are locked)."""
    st = os.statvfs(path).f_flag
    return sum(ms for bit, ms in _ST_FLAGS if st & bit)


# Why a cover and not an unmount (docs/adr/0065-cover-not-unmount.md): every mount under HIDDEN
# (code roots, deps root, cgroup directories, identity originals, the writable layer's tmpfs) stays
# in this namespace but no path reaches it, and nothing in the box can take the cover off (umount
# needs CAP_SYS_ADMIN, gone with the uid or `clear_capabilities`, and seccomp refuses it; in a user
# namespace of its own, a copy of this one, the kernel locks the cover to what it hides). umount2
# waits for an expedited RCU grace period (0.1 ms quiet, 1.4-7 ms under load) on the cold-start
# path; a mount over a path waits for nothing (~8 us).
def cover_hidden() -> None:
    """Puts an empty read-only tmpfs over HIDDEN (see the comment above)."""
    libc.mount("fp-covered", HIDDEN, "tmpfs", libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC,
               "mode=0555,size=4k,nr_inodes=1")


def bind(src: str, dst: str, read_only: bool = True, extra: int = 0) -> None:
    """Binds src at dst (creating dst as a file or directory like src), then sets its flags."""
    if os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.exists(dst):
            open(dst, "w").close()
    libc.mount(src, dst, None, libc.MS_BIND | libc.MS_REC)
    _set_flags(dst, read_only, extra)


def _set_flags(dst: str, read_only: bool, extra: int) -> None:
    flags = libc.MS_BIND | libc.MS_REMOUNT | libc.MS_NOSUID | extra | locked_flags(dst)
    if read_only:
        flags |= libc.MS_RDONLY
    libc.mount(None, dst, None, flags)


def _set_own_flags(dst: str, read_only: bool, extra: int, userns: bool) -> None:
    """`_set_flags` for the box's own binds (`_own`), whose flags `extra` says in full: in root mode
    nothing is locked, so they are set as given, without the `statvfs` that `locked_flags` reads
    (each a first call in a fresh fork on a box's init's path: bench/README.md 3m)."""
    if userns:
        _set_flags(dst, read_only, extra)
    else:
        libc.mount(None, dst, None, libc.MS_BIND | libc.MS_REMOUNT | libc.MS_NOSUID | extra | (libc.MS_RDONLY if read_only else 0))


def read_only_proc(userns: bool) -> None:
    """The box's /proc read-only from specialize on (enter.py `become`): nothing of it is written
    by the function's code, and its own oom_score_adj (the kernel's choice of victim) is the host's."""
    _set_own_flags("/proc", True, libc.MS_NODEV | libc.MS_NOEXEC, userns)


def read_only_scratch(userns: bool) -> None:
    """The box's /tmp and /dev/shm read-only (and empty: nothing wrote there yet): the code check's
    box (runtime/validate.py `boxed`), which writes nothing, has no file system a check could leave
    a file in for the next (its warmed checker runs every workspace's checks in one box)."""
    _set_own_flags("/tmp", True, libc.MS_NODEV, userns)
    _set_own_flags("/dev/shm", True, libc.MS_NODEV | libc.MS_NOEXEC, userns)


def tmpfs_options(mode: str, size: int) -> str:
    """Options of a writable tmpfs of `size` bytes: the size caps its pages, and an inode count (one
    per 2 KiB, at least 1024) caps its files, whose kernel memory (~1 KiB each) the size does not
    count: without it a box could make millions of empty files. Each mount of a box, and a
    template's box outlives the cgroup leaves of the instances that wrote into it."""
    return f"mode={mode},size={size},nr_inodes={max(1024, size // 2048)}"


def _tmpfs(dst: str, mode: str, size: int, extra: int = 0) -> None:
    os.makedirs(dst, exist_ok=True)
    libc.mount("tmpfs", dst, "tmpfs", libc.MS_NOSUID | libc.MS_NODEV | extra, f"mode={mode},size={size}")


def _under_tmp(path: str) -> bool:
    return path == "/tmp" or path.startswith("/tmp/")


def build(cfg: dict) -> None:
    """Assembles the whole box root and pivots into it, in this (new) mount namespace. Runs as PID 1
    of the box's PID namespace."""
    binds = cfg.get("binds") or []
    install.check(item["dst"] for item in binds)  # before anything is mounted: a collision named, not a mount error
    python_paths, prefix_links = install.python_paths(), install.prefix_links()
    cgroups = detach_cgroups(cfg)
    _stage()
    host, root = "/old", "/box"
    _shared(cfg, host, root, python_paths, prefix_links)
    _own(cfg, root, cgroups)
    for path in python_paths:  # over the box's own /tmp: an interpreter or runtime that lives under the host's
        if _under_tmp(path):
            bind(host + path, root + path)
    for item in binds:  # the builder's box: visible, at paths the host chose
        bind(host + item["src"], root + item["dst"], read_only=not item.get("rw"), extra=libc.MS_NODEV)
    _pivot(root)


def template_key(cfg: dict):
    """What a prepared root (`prepare`) depends on, or None when a box of `cfg` cannot start from one:
    the builder's box (binds, its own network) and an interpreter or runtime under the host's /tmp
    (bound over the box's own /tmp, so built per box)."""
    if cfg.get("binds") or cfg.get("net") or any(_under_tmp(p) for p in install.python_paths()):
        return None
    return (tuple(cfg.get("codeRoots") or ()), cfg.get("depsRoot"), cfg.get("dataRoot"), cfg.get("tplRoot"),
            tuple(sorted(cfg.get("cgroupBinds") or {})))


def prepare(cfg: dict) -> None:
    """The part of a box root every box of `cfg` shares (everything but `_own`), built once in a
    mount namespace of its own (fp_sandbox/template.py) and left as its root: each box copies that
    namespace (unshare) and adds its own mounts (`finish`). Host files change under it only in
    place; a host file replaced by another is noticed through `etc_stamp` (the template is rebuilt)."""
    install.check()
    python_paths, prefix_links = install.python_paths(), install.prefix_links()
    _stage()
    _shared(cfg, "/old", "/box", python_paths, prefix_links)
    _pivot("/box")


def finish(cfg: dict, cgroups: dict) -> None:
    """In a copy of a prepared root's namespace (already at its root): the box's own mounts."""
    _own(cfg, "", cgroups)
    os.chdir("/")


def etc_stamp() -> tuple:
    """Which host files `/etc` binds now: a file replaced (not rewritten in place) changes it."""
    stamp = []
    for name in ETC_FILES:
        try:
            st = os.stat(f"/etc/{name}")
            stamp.append((name, st.st_dev, st.st_ino))
        except OSError:
            pass
    return tuple(stamp)


def detach_cgroups(cfg: dict) -> dict:
    """The box's cgroup directories as detached mounts (open_tree), taken on the host's root before
    any pivot: name -> descriptor, attached at /.fp/cg/<name> by `_own`."""
    return {name: libc.open_tree(path) for name, path in (cfg.get("cgroupBinds") or {}).items()}


def _stage() -> None:
    """Private mounts, and a staging root (a small tmpfs) with the host's root moved to /old."""
    libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE)
    libc.mount("fp-staging", "/tmp", "tmpfs", libc.MS_NOSUID | libc.MS_NODEV, "mode=0755,size=64k")
    os.makedirs("/tmp/old", exist_ok=True)
    libc.pivot_root("/tmp", "/tmp/old")
    os.chdir("/")


def _pivot(root: str) -> None:
    """`root` becomes the root; the staging root and the host's under it are detached."""
    os.chdir(root)
    libc.pivot_root(".", ".")
    libc.umount(".", libc.MNT_DETACH)
    os.chdir("/")


def _shared(cfg: dict, host: str, root: str, python_paths: list, prefix_links: list) -> None:
    """Everything of the box root that is the same for every box of `cfg` (read-only, or written
    never again: `/etc/passwd` and `/etc/group` are the box's own, bound over by `_own`)."""
    _tmpfs(root, "0755", 1 << 20)
    for name in TOP_LINKS:
        src = f"{host}/{name}"
        if os.path.islink(src):
            os.symlink(os.readlink(src), f"{root}/{name}")
        elif os.path.isdir(src):
            bind(src, f"{root}/{name}")
    bind(f"{host}/usr", f"{root}/usr")
    os.makedirs(f"{root}/etc", mode=0o755)
    for name in ETC_FILES:
        if os.path.lexists(f"{host}/etc/{name}") and os.path.exists(f"{host}/etc/{name}"):
            bind(f"{host}/etc/{name}", f"{root}/etc/{name}")
    for name in ("passwd", "group"):
        open(f"{root}/etc/{name}", "w").close()
    os.makedirs(f"{root}/tmp")
    for path in python_paths:
        if not _under_tmp(path):
            bind(host + path, root + path)
    for path, target in prefix_links:
        if not os.path.lexists(root + path):
            os.makedirs(os.path.dirname(root + path), exist_ok=True)
            os.symlink(target, root + path)

    _tmpfs(f"{root}/dev", "0755", 64 << 10)
    for name in DEVICES:
        bind(f"{host}/dev/{name}", f"{root}/dev/{name}", read_only=False, extra=libc.MS_NOEXEC)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    os.makedirs(f"{root}/dev/shm")
    libc.mount(None, f"{root}/dev", None, libc.MS_REMOUNT | libc.MS_BIND | libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NOEXEC)
    # /var/tmp is the box's /tmp. A platform installed under /var (/var/lib/…, /var/www/…) is bound
    # there already: its /var was made then (new-user round 14: every runtime failed EEXIST), and one
    # under /var/tmp leaves the host's folder there (read-only, holding the platform) instead.
    os.makedirs(f"{root}/var", exist_ok=True)
    if not os.path.lexists(f"{root}/var/tmp"):
        os.symlink("/tmp", f"{root}/var/tmp")
    cpu = f"{host}/sys/devices/system/cpu"
    if os.path.isdir(cpu):
        bind(cpu, f"{root}/sys/devices/system/cpu")
    os.makedirs(f"{root}/proc")
    os.makedirs(f"{root}/code")
    os.makedirs(f"{root}/deps")
    os.makedirs(f"{root}/run/fp-data")
    os.makedirs(f"{root}/run/fp-tpl")

    # Hidden until specialize: code roots and cgroup directories, under one mount detached at once.
    _tmpfs(f"{root}/.fp", "0700", 64 << 10)
    for index, path in enumerate(cfg.get("codeRoots") or []):
        bind(host + path, f"{root}/.fp/code/{index}")
    if cfg.get("depsRoot"):
        bind(host + cfg["depsRoot"], f"{root}/.fp/deps")
    if cfg.get("dataRoot"):
        bind(host + cfg["dataRoot"], f"{root}/.fp/data")
    if cfg.get("tplRoot"):
        bind(host + cfg["tplRoot"], f"{root}/.fp/tpl")
    for name in cfg.get("cgroupBinds") or {}:
        os.makedirs(f"{root}/.fp/cg/{name}")
    os.makedirs(f"{root}{IDENTITY}")
    os.makedirs(f"{root}{WORK}")


def _own(cfg: dict, root: str, cgroups: dict) -> None:
    """The mounts that are this box's alone, on mount points `_shared` made: /tmp, /dev/shm, a
    /proc of its PID namespace, its identity files and its cgroup directories."""
    options = tmpfs_options("1777", int(cfg.get('tmpBytes') or (64 << 20)))
    plain = libc.MS_NOSUID | libc.MS_NODEV
    libc.mount("tmpfs", f"{root}/tmp", "tmpfs", plain, options)
    libc.mount("tmpfs", f"{root}/dev/shm", "tmpfs", plain | libc.MS_NOEXEC, options)
    libc.mount("proc", f"{root}/proc", "proc", plain | libc.MS_NOEXEC, "hidepid=2")
    _limit_ipc(root, cfg.get("mode") == "userns")
    userns = cfg.get("mode") == "userns"
    libc.mount(f"{root}/proc/sys", f"{root}/proc/sys", None, libc.MS_BIND | libc.MS_REC)
    _set_own_flags(f"{root}/proc/sys", True, libc.MS_NODEV | libc.MS_NOEXEC, userns)  # as its /proc
    # /etc/passwd and /etc/group: read-only binds of files only `become` writes (through IDENTITY,
    # which goes with /.fp before any user code), so no box writes into what boxes share.
    libc.mount("tmpfs", f"{root}{IDENTITY}", "tmpfs", plain, "mode=0755,size=64k")
    # Formatted here, not made once at import: the runtime forked after this shares the pages this
    # run of `write_identity` wrote (its bytecode quickened), which its specialize's `become` would
    # otherwise write itself (bench/README.md 3m).
    write_identity(f"{root}{IDENTITY}", "fn", 65534, 65534)
    for name in ("passwd", "group"):
        libc.mount(f"{root}{IDENTITY}/{name}", f"{root}/etc/{name}", None, libc.MS_BIND)
        _set_own_flags(f"{root}/etc/{name}", True, libc.MS_NODEV, userns)  # as the tmpfs
    for name, fd in cgroups.items():
        libc.move_mount(fd, f"{root}/.fp/cg/{name}")
        os.close(fd)
        libc.mount(None, f"{root}/.fp/cg/{name}", None, libc.MS_REC | libc.MS_PRIVATE)  # a copy of a shared host mount is its peer
        # nodev whatever the host's cgroup mount says (cgroupfs holds no device nodes)
        _set_own_flags(f"{root}/.fp/cg/{name}", False, libc.MS_NODEV | libc.MS_NOEXEC, userns)


def _limit_ipc(root: str, userns: bool) -> None:
    """IPC_LIMITS, in this process's IPC namespace (the box's: unshared before the view). A user
    namespace whose creator is not root cannot write them (the kernel wants the namespace's uid 0,
    which the box does not map): that mode keeps the kernel's defaults (docs/security.md)."""
    for name, value in IPC_LIMITS:
        try:
            fd = os.open(f"{root}/proc/sys/{name}", os.O_WRONLY | os.O_CLOEXEC)
        except PermissionError:
            if userns:
                return
            raise
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)


def write_identity(directory: str, user: str, uid: int, gid: int) -> None:
    """passwd and group in `directory`, naming the function's user (HOME=/tmp)."""
    for name, text in (("passwd", PASSWD), ("group", GROUP)):
        fd = os.open(f"{directory}/{name}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, text.format(user=user, uid=uid, gid=gid).encode())
        finally:
            os.close(fd)
