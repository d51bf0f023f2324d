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
LINE_OVERHEAD = 40  # about what one line's map (stream, ts, msg keys) takes in msgpack
_current = contextvars.ContextVar("fp_capture", default=None)


class Capture:
    __slots__ = ("lines", "size", "dropped", "dropped_lines", "truncated", "partial", "done")

    def __init__(self):
        self.lines = []
        self.size = 0
        self.dropped = 0
        self.dropped_lines = 0  # counted too: a flood of empty lines drops 0 bytes but many lines
        self.truncated = False
        # stream -> [pieces, length] of its unfinished line; length -1: the line is being dropped.
        self.partial = {}
        # Set by finish(): later writes (a task or thread that outlived its call) go to the real stream.
        self.done = False

    def add(self, stream, msg, level=None):
        n = len(msg) if msg.isascii() else len(msg.encode("utf-8", "replace"))
        # Every line costs its map on the wire too, so a flood of empty lines is bounded as well.
        if self.size + n + LINE_OVERHEAD > MAX_BYTES:
            self.dropped += n
            self.dropped_lines += 1
            self.truncated = True
            return
        self.size += n + LINE_OVERHEAD
        line = {"stream": stream, "ts": time.time() * 1000.0, "msg": msg}
        if level is not None:
            line["level"] = level
        self.lines.append(line)

    def write(self, stream, text):
        *complete, rest = text.split("\n")
        for piece in complete:
            self._hold(stream, piece)
            self._end_line(stream)
        if rest:
            self._hold(stream, rest)

    def _hold(self, stream, text):
        """Keep a piece of an unfinished line (a list, not a growing str: no quadratic copying)."""
        held = self.partial.setdefault(stream, [[], 0])
        if held[1] < 0:
            self.dropped += len(text)
            return
        held[0].append(text)
        held[1] += len(text)
        if self.size + held[1] > MAX_BYTES:  # it can never fit: drop it now, not after it grew
            self.dropped += held[1]
            self.truncated = True
            held[0] = []
            held[1] = -1

    def _end_line(self, stream):
        held = self.partial.pop(stream, None)
        if held is not None and held[1] >= 0:
            self.add(stream, "".join(held[0]))
        elif held is not None:
            self.dropped_lines += 1

    def finish(self):
        for stream in list(self.partial):
            self._end_line(stream)
        self.partial = {}
        self.done = True
        if self.truncated:
            self.lines.append({"stream": "stderr", "ts": time.time() * 1000.0,
                               "msg": f"[logs truncated: {self.dropped_lines} lines, {self.dropped} bytes dropped]"})
            self.dropped = 0
            self.dropped_lines = 0
            self.truncated = False
        return self.lines


def begin():
    """Start capturing in the current context; returns (capture, token)."""
    cap = Capture()
    return cap, _current.set(cap)


def end(cap, token):
    try:
        _current.reset(token)
    except ValueError:
        # The token belongs to another Context: the specialize capture is begun on the main
        # thread and ended inside asyncio.run's task, which runs in a copy of that context.
        _current.set(None)
    return cap.finish()


class _Proxy:
    """Stands in for sys.stdout / sys.stderr."""

    def __init__(self, name, real):
        self._name = name
        self._real = real

    def write(self, text):
        cap = _current.get()
        if cap is None or cap.done:
            return self._real.write(text)
        cap.write(self._name, str(text))
        return len(text)

    def flush(self):
        cap = _current.get()
        if cap is None or cap.done:
            self._real.flush()

    def isatty(self):
        return False

    def __getattr__(self, name):
        return getattr(self._real, name)


class _LogHandler(logging.Handler):
    def emit(self, record):
        cap = _current.get()
        if cap is None or cap.done:
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
