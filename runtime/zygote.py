"""Entry point of a zygote (fp_runtime/zygote.py): forks generic runtimes for the pool.

Started by the local process host as
`<venv>/bin/python -I runtime/zygote.py --fd 3 --preset NAME --listen PATH [--boxed]` (`--boxed`: the
host's sandbox is on, every runtime it asks for is boxed). Like bootstrap.py, `-I`
keeps user site, PYTHON* variables and the current directory out, so this directory is added here.
See docs/adr/0019-zygotes.md.
"""
import os
import sys
import time

_BOOT = time.perf_counter()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Before any other import: the at-fork hooks the zygote's imports register are recorded, so that a
# runtime forked without them runs them after its hello (fp_sandbox/atfork.py).
from fp_sandbox import atfork  # noqa: E402

atfork.record()

if __name__ == "__main__":
    _args = sys.argv[1:]
    try:
        _fd = int(_args[_args.index("--fd") + 1])
        _preset = _args[_args.index("--preset") + 1]
        _path = _args[_args.index("--listen") + 1]
    except (ValueError, IndexError):
        print("usage: zygote.py --fd N --preset NAME --listen PATH", file=sys.stderr)
        sys.exit(2)
    from fp_runtime.zygote import PRESETS, serve  # noqa: E402
    if _preset not in PRESETS:
        print(f"unknown preset {_preset!r} (known: {', '.join(PRESETS)})", file=sys.stderr)
        sys.exit(2)
    serve(_fd, _preset, _path, _BOOT, "--boxed" in _args)
