"""Entry point of a generic runtime process.

Started by the pool manager as `<venv>/bin/python -I runtime/bootstrap.py --fd 3`. `-I` (isolated
mode) keeps the user's site directory, PYTHON* variables and the current directory out of
sys.path, so this directory is added here by hand. See docs/runtime-protocol.md.
"""
import os
import sys
import time

_BOOT = time.perf_counter()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fp_runtime.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], _BOOT))
