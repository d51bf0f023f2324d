"""Entry point of a generic runtime process.

Started by the pool manager as `<venv>/bin/python -I runtime/bootstrap.py --fd 3 [--box JSON]`.
`-I` (isolated mode) keeps the user's site directory, PYTHON* variables and the current
directory out of sys.path, so this directory is added here by hand. With `--box` the process
first builds its sandbox (fp_sandbox/keeper.py: namespaces, a private filesystem view) and only
the boxed runtime process continues below. See docs/runtime-protocol.md and docs/security.md.
"""
import os
import sys
import time

_BOOT = time.perf_counter()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _box(argv):
    """Takes `--box JSON` out of argv; builds the box (returning only in the runtime process)."""
    if "--box" not in argv:
        return argv, None
    at = argv.index("--box")
    import json
    from fp_sandbox.keeper import start
    cfg = json.loads(argv[at + 1])
    rest = argv[:at] + argv[at + 2:]
    fd = int(rest[rest.index("--fd") + 1]) if "--fd" in rest else -1
    return rest, start(cfg, fd)


if __name__ == "__main__":
    _argv, _sandbox = _box(sys.argv[1:])
    from fp_runtime.main import main  # noqa: E402
    sys.exit(main(_argv, _BOOT, _sandbox))
