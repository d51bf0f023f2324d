"""Entry point of a dependency build (docs/dependencies.md, "The build").

Started by the control plane (controlplane/deps/builder.ts) as
    <venv>/bin/python -I runtime/deps_build.py --build JSON [--box JSON]
with fd 3 a pipe for progress (JSON lines), stdin for the host's answer to the lock, and the index
URLs in the environment (`FP_DEPS_INDEXES`: `{indexUrl, extraIndexUrls}` as JSON; they may hold a
private index's password, and a command line is every local user's to read); or as
    <venv>/bin/python -I runtime/deps_build.py --fonts JSON [--box JSON]
to make matplotlib's font list of a built site (fp_deps/fonts.py, in a box where the site is read-only);
or as
    <venv>/bin/python -I runtime/deps_build.py --reclaim JSON
to give what such a box left, under a subordinate uid, back to the platform's uid (`_reclaim`).
With `--box` the process first builds the same kind of box a runtime lives in
(fp_sandbox/keeper.py: namespaces, a private read-only root, no capabilities, seccomp), plus a
network namespace of its own, and takes the builder's uid and hard limits at once
(fp_sandbox/enter.py `become`), before pip or any package metadata is read.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _boxed(argv):
    if "--box" not in argv:
        return
    from fp_sandbox import seccomp
    from fp_sandbox.enter import become
    from fp_sandbox.keeper import start
    cfg = json.loads(argv[argv.index("--box") + 1])
    box = start(cfg, 3)  # returns in the box's pid 2 only; fd 3 (progress) is kept open
    # pip's proxy listens on the loopback of the build's own network namespace (fp_deps/forward.py):
    # the build's filter keeps listen, which a function's denies.
    box.seccomp = seccomp.compiled("build")
    if box.mode == "root":
        uid, gid = int(cfg["uid"]), int(cfg["gid"])
    elif os.getuid() == 0:
        # Mapped to a subordinate uid of the platform's user (keeper._unshare_mapped): the build is
        # that host uid, not the platform's, whose per-user counters (epoll watches, ...) a build
        # script could otherwise take all of, and libuv aborted the platform (docs/adr/0147).
        # Its writable folders are the platform's (0700): given to it here, back after (`_reclaim`),
        # and 0755 so that the platform measures them meanwhile (builder.ts `watchStaging`; the
        # staging folder above them stays the platform's, 0700).
        uid, gid = 1000, 1000
        for bind in cfg.get("binds") or []:
            if bind.get("rw"):
                _chown_tree(bind["dst"], uid, gid, 0o755)
    else:
        uid, gid = os.getuid(), os.getgid()
    become(box, uid, gid, "fp-deps", cfg.get("rlimits") or {})


def _chown_tree(top: str, uid: int, gid: int, dir_mode=None) -> None:
    """Every entry under `top` (and `top`) to uid:gid (folders to `dir_mode` too, if given),
    symlinks never followed, to any depth (no descriptor or recursion per level: a build script can
    nest folders deeper than either allows)."""
    import stat

    def enter(name):
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            if dir_mode is not None:
                os.fchmod(fd, dir_mode)
            os.fchdir(fd)
        finally:
            os.close(fd)

    enter(top)
    os.chown(".", uid, gid)
    stack = [os.listdir(".")]
    while stack:
        if not stack[-1]:
            stack.pop()
            if stack:
                os.chdir("..")
            continue
        name = stack[-1].pop()
        try:
            st = os.lstat(name)
        except FileNotFoundError:
            continue
        os.chown(name, uid, gid, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            enter(name)
            stack.append(os.listdir("."))
    os.chdir("/")


def _reclaim(spec: dict) -> None:
    """Gives every entry under `spec["dirs"]` (a finished build's staging folders, its box gone)
    back to the platform's uid and gid: from a user namespace mapped as the build's box was (0 the
    platform's uid, 1000 the subordinate one), whose capabilities hold over both. The platform could
    not chown them itself, so could neither freeze the site nor remove the folders."""
    from fp_sandbox.keeper import _unshare_mapped
    _unshare_mapped(0, spec["idmap"])
    for top in spec["dirs"]:
        _chown_tree(top, 0, 0, 0o755)  # folders the platform can enter and empty again


if __name__ == "__main__":
    _args = sys.argv[1:]
    if "--reclaim" in _args:
        _reclaim(json.loads(_args[_args.index("--reclaim") + 1]))
        sys.exit(0)
    # The index URLs come in the environment, never on the command line, which every local user
    # reads (`ps`); taken out of it before anything starts, so pip and what it runs never inherit it.
    _indexes = json.loads(os.environ.pop("FP_DEPS_INDEXES", "{}"))
    _boxed(_args)
    if "--fonts" in _args:
        from fp_deps.fonts import main  # noqa: E402
        _fonts = json.loads(_args[_args.index("--fonts") + 1])
        sys.exit(main(_fonts["site"], _fonts["out"]))
    from fp_deps.build import Build  # noqa: E402
    _spec = {**json.loads(_args[_args.index("--build") + 1]), **_indexes}
    with os.fdopen(3, "w") as _status:
        sys.exit(Build(_spec, _status, sys.stdin).run())
