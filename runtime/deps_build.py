"""Entry point of a dependency build (docs/dependencies.md, "The build").

Started by the control plane (controlplane/deps/builder.ts) as
    <venv>/bin/python -I runtime/deps_build.py --build JSON [--box JSON]
with fd 3 a pipe for progress (JSON lines) and stdin for the host's answer to the lock; or as
    <venv>/bin/python -I runtime/deps_build.py --fonts JSON [--box JSON]
to make matplotlib's font list of a built site (fp_deps/fonts.py, in a box where the site is read-only).
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
    uid, gid = (int(cfg["uid"]), int(cfg["gid"])) if box.mode == "root" else (os.getuid(), os.getgid())
    become(box, uid, gid, "fp-deps", cfg.get("rlimits") or {})


if __name__ == "__main__":
    _args = sys.argv[1:]
    _boxed(_args)
    if "--fonts" in _args:
        from fp_deps.fonts import main  # noqa: E402
        _fonts = json.loads(_args[_args.index("--fonts") + 1])
        sys.exit(main(_fonts["site"], _fonts["out"]))
    from fp_deps.build import Build  # noqa: E402
    _spec = json.loads(_args[_args.index("--build") + 1])
    with os.fdopen(3, "w") as _status:
        sys.exit(Build(_spec, _status, sys.stdin).run())
