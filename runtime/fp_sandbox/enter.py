"""Specialize-time half of the box: R takes on one function for life, before its module is imported.

The host sends `box` with the specialize message (protocol/messages.ts BoxSpec); every decision
(uid, cgroup files and values, limits) was made there, this only carries it out, in this order:
  1. cgroups: write the host's limits into the runtime's own leaves (its memory allowance, its
     share of the function's CPU weight).
  2. code: the version's directory at /code, read-only, or (root mode, `workBytes`) as the lower
     layer of an overlay whose upper layer is a tmpfs of the instance's own, so new files can be
     created in /code and in its folders; its dependency site (if any) read-only at /deps, its data
     socket directory at /run/fp-data, a template's socket directory at /run/fp-tpl.
  3. identity files (written through /.fp/id: /etc/passwd and /etc/group are read-only binds of
     them), then cover /.fp with an empty read-only tmpfs (every code root, the deps root, every
     cgroup directory, the identity originals stay mounted beneath it, out of reach of any path;
     not unmounted: an unmount waits for an RCU grace period, 1.4-7 ms under load, ADR 0065);
     hostname; the root filesystem and /proc become read-only.
  4. resource limits: hard = soft for every rlimit (with the values asked for), so setrlimit can
     only lower them.
  5. identity: the function's own uid/gid (root mode) or no capabilities (userns mode).
  6. seccomp.
Any failure raises: the specialization fails with FUNCTION_INIT_FAILED and the process is
discarded, never handed user code half-boxed.
"""
import os
import resource

from . import forked, libc, view

CODE = "/code"
DEPS = "/deps"
DATA = "/run/fp-data"
TEMPLATE = "/run/fp-tpl"
_RLIMITS = {"nofile": resource.RLIMIT_NOFILE, "nproc": resource.RLIMIT_NPROC,
            "fsize": resource.RLIMIT_FSIZE, "core": resource.RLIMIT_CORE, "as": resource.RLIMIT_AS}

_ALL_RLIMITS = sorted({getattr(resource, n) for n in dir(resource) if n.startswith("RLIMIT_")})


def enter(box, spec: dict) -> str:
    """Boxes this process for the function `spec` describes; returns the code directory to use."""
    forked.wait_joined(box)  # a forked box joins its cgroups after hello (forked.py)
    for op in spec.get("cgroup") or []:
        _cgroup_op(op)
    uid, gid = (int(spec["uid"]), int(spec["gid"])) if box.mode == "root" else _userns_ids(spec)
    code = f"/.fp/code/{int(spec['codeRoot'])}/{_relative(spec['codeDir'])}"
    if spec.get("workBytes") and box.mode == "root" and not any(c in code for c in ",:\\"):  # overlay's option syntax
        _overlay_code(box, code, int(spec["workBytes"]), uid, gid)
    else:
        _bind_read_only(box, code, CODE)
    if spec.get("depsDir"):
        _bind_read_only(box, f"/.fp/deps/{_relative(spec['depsDir'])}", DEPS)
    if spec.get("dataDir"):
        _bind_read_only(box, f"/.fp/data/{_relative(spec['dataDir'])}", DATA)
    if spec.get("templateDir"):  # a template's own socket directory: its forks connect there (fp_runtime/template.py)
        _bind_read_only(box, f"/.fp/tpl/{_relative(spec['templateDir'])}", TEMPLATE)

    become(box, uid, gid, spec.get("hostname") or "fn", spec.get("rlimits") or {})
    return CODE


def _userns_ids(spec: dict) -> tuple:
    """The function's uid and gid in user-namespace mode: its own (the platform's, mapped to 1000)
    or, where the box maps the platform user's subordinate ids (keeper._unshare_mapped: this process
    is uid 0 inside until now), the one the host picked for this function (1000 onwards; ADR 0146)."""
    if os.getuid() == 0:
        return int(spec.get("uid", 1000)), int(spec.get("gid", 1000))
    return os.getuid(), os.getgid()


def _relative(path: str) -> str:
    if path.startswith("/") or ".." in path.split("/"):
        raise ValueError(f"bad directory {path!r}")
    return path


def _overlay_code(box, lower: str, size: int, uid: int, gid: int) -> None:
    """/code as an overlay: the version's files (lower, read-only; they keep their owner and
    mode, so the function cannot change them) and an upper layer on a tmpfs of `size` bytes mounted
    at view.WORK, which goes out of reach with /.fp (the overlay keeps it alive). The upper
    layer's root belongs to the function's uid, and so does a copy there of each folder of the
    version (`_own_folders`): /code and its folders take new files, as a project's own `data/` or
    `logs/` does under uvicorn; the version's files stay the deployer's. Nothing written reaches
    the version's directory, another instance or the next cold start. The tmpfs and its two
    folders were made ahead by an idle runtime (keeper.Box.ahead) when their size is this one."""
    if not (box.work_made and box.work_bytes == size):
        make_work(size)  # over the one made ahead, if any: the size asked for wins
    os.chown(f"{view.WORK}/upper", uid, gid)
    _own_folders(lower, f"{view.WORK}/upper", uid, gid)
    libc.mount("fp-code", CODE, "overlay", libc.MS_NOSUID | libc.MS_NODEV,
               f"lowerdir={lower},upperdir={view.WORK}/upper,workdir={view.WORK}/work")


def make_work(size: int) -> None:
    """The writable layer's tmpfs of `size` bytes at view.WORK, with the overlay's upper and work folders (root's until chowned)."""
    libc.mount("fp-work", view.WORK, "tmpfs", libc.MS_NOSUID | libc.MS_NODEV, view.tmpfs_options("0700", size))
    os.mkdir(f"{view.WORK}/upper", 0o755)
    os.mkdir(f"{view.WORK}/work", 0o700)


def common_steps() -> None:
    """What `become` does the same for every function: step 4's first half (every rlimit's hard
    limit lowered to its soft one, so that setrlimit can only lower them) and the box's HOME and
    USER (the function's env, applied after, may set its own)."""
    for res in _ALL_RLIMITS:
        soft, _ = resource.getrlimit(res)
        resource.setrlimit(res, (soft, soft))
    os.environ["HOME"] = "/tmp"
    os.environ["USER"] = "fn"


MAX_OWN_FOLDERS = 1000


def _own_folders(lower: str, upper: str, uid: int, gid: int) -> None:
    """An upper-layer folder of the function's uid for each folder of the version (links and
    `__pycache__` left out, the first MAX_OWN_FOLDERS breadth first): an overlay folder takes its
    owner and mode from its upper layer, so the function can create files in `data/` (a project's
    `data/.gitkeep` beside `sqlite:///data/app.db`, a `logs/` folder for a FileHandler). The
    version's own files keep their owner and mode; a removal or rename only hides one in the
    instance's layer, as at the top level. Each copy is an inode of the instance's tmpfs: when
    that tmpfs has no inode left (ENOSPC), the remaining folders stay the deployer's."""
    queue, made = [""], 0
    while queue and made < MAX_OWN_FOLDERS:
        rel = queue.pop(0)
        try:
            with os.scandir(f"{lower}/{rel}" if rel else lower) as entries:
                names = sorted(e.name for e in entries if e.name != "__pycache__" and e.is_dir(follow_symlinks=False))
        except OSError:  # a path past PATH_MAX: that folder's own folders stay the deployer's
            continue
        for name in names[:MAX_OWN_FOLDERS - made]:
            path = f"{rel}/{name}" if rel else name
            try:
                os.mkdir(f"{upper}/{path}", 0o755)
            except OSError:
                return
            os.chown(f"{upper}/{path}", uid, gid)
            queue.append(path)
            made += 1


def _bind_read_only(box, src: str, dst: str) -> None:
    libc.mount(src, dst, None, libc.MS_BIND)
    libc.mount(None, dst, None, libc.MS_BIND | libc.MS_REMOUNT | libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV
               | (view.locked_flags(dst) if box.mode == "userns" else 0))


def become(box, uid: int, gid: int, hostname: str, limits: dict) -> None:
    """Steps 3-6 for this process: identity files, /.fp covered, read-only root, hard rlimits, uid, seccomp.
    Shared with the dependency builder's box (runtime/deps_build.py)."""
    view.write_identity(view.IDENTITY, "fn", uid, gid)  # the originals of the box's read-only /etc/passwd and /etc/group
    view.cover_hidden()  # with them, every code root, the deps root and the cgroup directories (ADR 0065)
    libc.sethostname(hostname)
    libc.mount(None, "/", None, libc.MS_BIND | libc.MS_REMOUNT | libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV)
    # /proc read-only (EROFS on every open for writing), after the cgroup ops' oom_score_adj: the
    # box's processes could lower their OOM preference (500, or 1000 past half the total; keeper.py)
    # to the platform's 0 where it lacks CAP_SYS_RESOURCE, so that another tenant's boxes (still at
    # 500) were the kernel's victims (red team round 45). /proc/self/fd/N opens what it names, on
    # that file's own mount (/dev/stdout still writes).
    view.read_only_proc(box.mode == "userns")

    if not getattr(box, "common_made", False):  # else made ahead (keeper.Box.ahead), nothing raised or set since
        common_steps()
    for name, value in limits.items():
        res = _RLIMITS[name]
        wanted = int(value)
        # Never above the hard limit this process got (set to its soft one just above): raising it
        # needs a privilege the box does not have, and failed every function's start ("not allowed
        # to raise maximum limit") on a platform run with a low `ulimit -n` (reliability round 5).
        # Lower only ever bounds the function more.
        _, hard = resource.getrlimit(res)
        if hard != resource.RLIM_INFINITY and wanted > hard:
            wanted = hard
        resource.setrlimit(res, (wanted, wanted))

    if box.mode == "root" or os.getuid() != uid:  # root mode, or userns mapped to a subordinate uid
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)  # every capability goes with uid 0
        libc.prctl(libc.PR_SET_DUMPABLE, 1)  # the function owns its own /proc/self (setuid cleared it)
    else:
        libc.clear_capabilities()
    if box.seccomp is not None:
        box.seccomp.install()


def _cgroup_op(op: dict) -> None:
    """One host-decided operation (protocol/messages.ts CgroupOp)."""
    if "limit" in op:
        fd = os.open(op["usage"], os.O_RDONLY | os.O_CLOEXEC)
        try:
            limit = int(os.read(fd, 64)) + int(op["bytes"])
        finally:
            os.close(fd)
        _write(op["limit"], limit)
        if op.get("alsoLimit"):
            _write(op["alsoLimit"], limit)
    else:
        for path, value in op["write"].items():
            try:
                _write(path, value)
            except OSError:
                # /proc/self/oom_score_adj (poolmgr/host/cgroups.ts OOM_SCORE_ADJ) is a preference:
                # a box without /proc still starts. Every cgroup file is a limit and must be written.
                if not path.startswith("/proc/self/"):
                    raise


def _write(path: str, value) -> None:
    # Not open(): a text file's first use in a fresh fork costs ~0.2 ms (its codec and buffer machinery).
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)
