"""Per-invocation capture of stdout, stderr and `logging` output.

sys.stdout/sys.stderr are replaced once by proxies that write into the capture of the current
invocation (a contextvar, so concurrent async or threaded calls each keep their own lines) and
fall back to the real stream outside any invocation. Capture is bounded: past MAX_BYTES lines
are dropped and one marker line says how much.
"""
import contextvars
import logging
import sys
import time

MAX_BYTES = 256 * 1024
_current = contextvars.ContextVar("fp_capture", default=None)


class Capture:
    __slots__ = ("lines", "size", "dropped", "partial")

    def __init__(self):
        self.lines = []
        self.size = 0
        self.dropped = 0
        self.partial = {}

    def add(self, stream, msg, level=None):
        n = len(msg)
        if self.size + n > MAX_BYTES:
            self.dropped += n
            return
        self.size += n
        line = {"stream": stream, "ts": time.time() * 1000.0, "msg": msg}
        if level is not None:
            line["level"] = level
        self.lines.append(line)

    def write(self, stream, text):
        pending = self.partial.get(stream, "") + text
        *complete, rest = pending.split("\n")
        for msg in complete:
            self.add(stream, msg)
        self.partial[stream] = rest

    def finish(self):
        for stream, rest in self.partial.items():
            if rest:
                self.add(stream, rest)
        self.partial = {}
        if self.dropped:
            self.lines.append({"stream": "stderr", "ts": time.time() * 1000.0,
                               "msg": f"[logs truncated: {self.dropped} bytes dropped]"})
            self.dropped = 0
        return self.lines


def begin():
    """Start capturing in the current context; returns (capture, token)."""
    cap = Capture()
    return cap, _current.set(cap)


def end(cap, token):
    _current.reset(token)
    return cap.finish()


class _Proxy:
    """Stands in for sys.stdout / sys.stderr."""

    def __init__(self, name, real):
        self._name = name
        self._real = real

    def write(self, text):
        cap = _current.get()
        if cap is None:
            return self._real.write(text)
        cap.write(self._name, str(text))
        return len(text)

    def flush(self):
        if _current.get() is None:
            self._real.flush()

    def isatty(self):
        return False

    def __getattr__(self, name):
        return getattr(self._real, name)


class _LogHandler(logging.Handler):
    def emit(self, record):
        cap = _current.get()
        if cap is None:
            return
        try:
            msg = self.format(record)
        except Exception:  # a bad format string must not fail the call
            msg = str(record.msg)
        cap.add("log", msg, record.levelname)


def install(level=logging.INFO):
    """Install the proxies and the root log handler (once, at specialize)."""
    sys.stdout = _Proxy("stdout", sys.__stdout__)
    sys.stderr = _Proxy("stderr", sys.__stderr__)
    handler = _LogHandler()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
