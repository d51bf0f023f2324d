"""A load that is about to run out of time says where it is (docs/runtime-protocol.md, "specialize").

The host waits `initLimitMs` for `specialized` and then kills the runtime. Shortly before (at 80 %
of the limit, or one second before it, whichever is later) a SIGALRM makes the runtime write to
the load's log how long it has been loading and where its main thread is (the function's frames,
a line each; and, when an event loop runs, where its tasks wait: an ASGI lifespan startup).
The load's lines stream to the host as they are written (flusher.py), so a load that hangs keeps
them: before, `runs` showed `logs (none)` for a module-level `requests.get` that never answered.

A timer, not a thread: arming costs a `setitimer` on the cold-start path, and a load that ends in
time never hears of it. The function's own SIGALRM handler or timer, if its import set one, is left
alone.
"""
import asyncio
import importlib
import io
import os
import signal

import _signal

# The runtime's own files (fp_runtime, fp_sandbox, zygote.py) and importlib's: not the function's frames.
_NOT_OWN = (os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
            os.path.dirname(os.path.abspath(importlib.__file__)) + os.sep, "<frozen ")


# (limit_ms, after_s, cap, the SIGALRM handler before it) while a load is watched; one load per process.
_armed = None


def _report(_signum, frame):
    """SIGALRM while armed: one line per line of text (a terminal shows each as it is; the CLI
    escapes a newline)."""
    if _armed is None:
        return
    limit_ms, after_s, cap, _ = _armed
    head = f"[platform] still loading after {after_s:.1f} s (the limit is {limit_ms / 1000:g} s); it is at:"
    for line in [head, *where(frame).split("\n")]:
        cap.add("stderr", line)


# The C functions under `signal.signal`/`getsignal`, whose wrappers convert handlers to and from
# enums: for a Python handler that raises and catches a TypeError at arming and a ValueError at
# disarming, a first run of the exception machinery in a fresh fork on every cold start.
_set_handler, _get_handler = _signal.signal, _signal.getsignal


def arm(limit_ms, cap) -> None:
    """Arms the report for a load that may take `limit_ms` (nothing without one), into `cap`."""
    global _armed
    if not isinstance(limit_ms, (int, float)) or limit_ms <= 0:
        return
    after_s = max(limit_ms - 1000, limit_ms * 0.8) / 1000.0
    _armed = limit_ms, after_s, cap, _set_handler(signal.SIGALRM, _report)
    signal.setitimer(signal.ITIMER_REAL, after_s)


def disarm() -> None:
    """The load ended: the timer and handler go, unless the function's import put its own in their place."""
    global _armed
    if _armed is None:
        return
    previous = _armed[3]
    _armed = None
    if _get_handler(signal.SIGALRM) is _report:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _set_handler(signal.SIGALRM, previous)


def where(frame) -> str:
    """The main thread's stack at `frame` (the function's frames, innermost last), and the stacks of
    the running event loop's tasks."""
    import traceback  # only when reporting: not on the cold-start path

    parts = [_own_frames(traceback.extract_stack(frame))]
    loop = asyncio.events._get_running_loop()
    if loop is not None:
        for task in asyncio.all_tasks(loop):
            out = io.StringIO()
            task.print_stack(file=out)
            parts.append(out.getvalue().rstrip())
    return "\n".join(p for p in parts if p) or "  (no frame of the function)"


def _own_frames(stack) -> str:
    """The stack without the runtime's and importlib's frames (all of it when none is left)."""
    import traceback

    own = [f for f in stack if not f.filename.startswith(_NOT_OWN)]
    return "".join(traceback.format_list(own or stack)).rstrip()
