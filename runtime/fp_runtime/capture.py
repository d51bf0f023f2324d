"""Per-invocation capture of stdout, stderr and `logging` output.

sys.stdout/sys.stderr are replaced once by proxies that write into the capture of the current
invocation (a contextvar, so concurrent async or threaded calls each keep their own lines) and
fall back to the real stream outside any invocation. Capture is bounded over the whole call: past
MAX_BYTES lines are dropped (the line that crosses the budget keeps its start, marked CUT_MARK)
and one marker line, in the call's reply, says how much.

A call's capture streams: its lines go to the host in `logs` batches while it runs (flusher.py),
and its reply carries only the rest. One lock guards every capture, so a batch taken by the flusher
thread and the rest taken at the end never overlap and never lose a line written in between.
"""
import codecs
import contextvars
import logging
import os
import sys
import threading
import time

MAX_BYTES = 256 * 1024
LINE_OVERHEAD = 40  # about what one line's map (stream, ts, msg keys) takes in msgpack
# A line too long for what is left of the budget keeps its start, if at least this much is left,
# with CUT_MARK at its end (a 10 MB print keeps ~256 KiB, not nothing).
MIN_CUT_BYTES = 1024
CUT_MARK = " … [line truncated]"
# A batch this big is sent at once rather than at the flusher's next tick.
URGENT_BYTES = 64 * 1024
_current = contextvars.ContextVar("fp_capture", default=None)
# Reentrant: a signal handler that prints may interrupt this thread while it holds the lock.
_lock = threading.RLock()
# Notified when a QueueListener wrote a call's record (Capture.queued_records); waited on with _lock.
_drained = threading.Condition(_lock)
# How long the end of a call waits for the records it left in a QueueListener's queue.
QUEUED_RECORDS_WAIT_S = 0.05
# Told when a streaming capture gets its first unsent line (flusher.Flusher.pending); None: nobody.
_sink = None
# The level of the `logging` record a handler of the app's own is writing (a StreamHandler from
# dictConfig, uvicorn's LOGGING_CONFIG, `basicConfig(force=True)`): the stdout or stderr line it
# writes carries it, as the runtime's handler's lines do (apps round 24). None outside such a handler.
_record_level = contextvars.ContextVar("fp_record_level", default=None)


# A JSON log line's level names (structlog's JSONRenderer `level`, python-json-logger's
# `levelname`, Google Cloud's `severity`, loguru's `serialize=True` `record.level.name`), as
# `logging` writes them; other values leave the line to its stream's level (apps round 17).
JSON_LEVELS = {"debug": "DEBUG", "trace": "DEBUG", "info": "INFO", "notice": "INFO", "success": "INFO", "warn": "WARNING",
               "warning": "WARNING", "error": "ERROR", "err": "ERROR", "critical": "CRITICAL", "fatal": "CRITICAL",
               "alert": "CRITICAL", "emergency": "CRITICAL"}
JSON_LEVEL_MAX_CHARS = 16 * 1024  # longer lines are not parsed for it (what a JSON logger writes is shorter)


def json_level(text):
    """The level of a line that is one JSON object naming its level (a structured logger's line
    printed to stdout or stderr), as `logging` names it; else None."""
    if len(text) > JSON_LEVEL_MAX_CHARS or text.rstrip()[-1:] != "}":
        return None
    import json
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        # RecursionError: a line nested some thousand levels deep (`{"a": [[[…]]]}`, 2 KB will do).
        # Not caught, it came out of the app's print() (the call failed), or out of the call's end
        # for an unfinished line (the runtime exited, its other calls with it); a caller's text
        # printed by a webhook receiver did either (red team round 31).
        return None
    if not isinstance(obj, dict):
        return None
    level = obj.get("level", obj.get("levelname", obj.get("severity")))
    if level is None and isinstance(obj.get("record"), dict) and isinstance(obj["record"].get("level"), dict):
        level = obj["record"]["level"].get("name")
    return JSON_LEVELS.get(level.lower()) if isinstance(level, str) else None


class Capture:
    # No __slots__: the fields that start at zero are class attributes until a call first writes
    # a line, so a call that prints nothing sets two (issue 11).
    size = 0  # counts every line kept since the call began, sent or not: the bound is per call
    dropped = 0
    dropped_lines = 0  # counted too: a flood of empty lines drops 0 bytes but many lines
    truncated = False
    # stream -> [pieces, length] of its unfinished line; length -1: the line is being dropped.
    # None until the first unfinished line.
    partial = None
    # Set by finish(): later writes (a task or thread that outlived its call) go to the real stream.
    done = False
    unsent = 0  # bytes in self.lines
    queued_records = 0  # records of this call in a QueueListener's queue, not yet written (below)
    # stream -> incremental UTF-8 decoder of the bytes written to its `.buffer`: a character split
    # across two writes stays one (it was two U+FFFD). None until the first such write.
    decoders = None
    queued = False  # the flusher has been told about the lines in self.lines
    urgent = False  # ... and told to send them now

    def __init__(self, mid=None):
        # The invoke's message id: its lines are streamed under it. None (specialize): sent at the end.
        self.id = mid
        self.lines = []  # lines not yet handed out (to a `logs` batch or the reply)

    # Under _lock --------------------------------------------------------------------------
    def _add(self, stream, msg, level=None):
        n = len(msg) if msg.isascii() else len(msg.encode("utf-8", "replace"))
        # Every line costs its map on the wire too, so a flood of empty lines is bounded as well.
        if self.size + n + LINE_OVERHEAD > MAX_BYTES:
            cut = self._cut(msg, n)
            if cut is None:
                self.dropped += n
                self.dropped_lines += 1
                self.truncated = True
                return
            msg, n = cut
        self._add_line(stream, msg, n, level)

    def _add_line(self, stream, msg, n, level=None):
        self.size += n + LINE_OVERHEAD
        self.unsent += n + LINE_OVERHEAD
        line = {"stream": stream, "ts": time.time() * 1000.0, "msg": msg}
        if level is not None:
            line["level"] = level
        self.lines.append(line)

    def _cut(self, msg, n):
        """`msg` (n bytes) cut to what is left of the budget, with CUT_MARK: (msg, bytes), or None
        when too little is left. Counts the bytes cut off as dropped."""
        room = MAX_BYTES - self.size - LINE_OVERHEAD - len(CUT_MARK.encode())
        if room < MIN_CUT_BYTES:
            return None
        kept = msg[:room]
        if not kept.isascii():
            kept = kept.encode("utf-8", "replace")[:room].decode("utf-8", "ignore")
        size = len(kept.encode("utf-8", "replace")) if not kept.isascii() else len(kept)
        self.dropped += n - size
        self.truncated = True
        kept += CUT_MARK
        return kept, len(kept.encode("utf-8", "replace"))

    def _write(self, stream, text, level=None):
        *complete, rest = text.split("\n")
        for piece in complete:
            self._hold(stream, piece)
            self._end_line(stream, level)
        if rest:
            self._hold(stream, rest)

    def _hold(self, stream, text):
        """Keep a piece of an unfinished line (a list, not a growing str: no quadratic copying)."""
        if self.partial is None:
            self.partial = {}
        held = self.partial.setdefault(stream, [[], 0])
        if held[1] < 0:
            self.dropped += len(text)
            return
        held[0].append(text)
        held[1] += len(text)
        if self.size + held[1] > MAX_BYTES:  # it can never fit whole: cut it (or drop it) now, not after it grew
            line = "".join(held[0])
            cut = self._cut(line, len(line.encode("utf-8", "replace")))
            if cut is None:
                self.dropped += held[1]
                self.truncated = True
                held[0] = []
                held[1] = -1
            else:  # its start, ended now; the rest of the line is dropped as it comes
                self._add_line(stream, cut[0], cut[1])
                held[0] = []
                held[1] = -2

    def _end_line(self, stream, level=None):
        """Ends the stream's held line; `level`: that of the `logging` record whose handler ended it."""
        held = self.partial.pop(stream, None) if self.partial else None
        if held is not None and held[1] >= 0:
            text = "".join(held[0])
            self._add(stream, text, level or (json_level(text) if text[:1] == "{" else None))
        elif held is not None and held[1] == -1:
            self.dropped_lines += 1

    def _end_partials(self):
        if self.decoders:  # bytes of a character never completed: U+FFFD, as a decoder at its end says
            for stream, decoder in self.decoders.items():
                tail = decoder.decode(b"", True)
                if tail:
                    self._write(stream, tail)
            self.decoders = None
        for stream in list(self.partial or ()):
            self._end_line(stream)
        self.partial = None

    def _wake(self):
        """What the flusher must hear now: (is this a new batch, must it go out at once), or None."""
        if self.id is None or not self.lines:
            return None
        if not self.queued:
            self.queued = True
            self.urgent = self.unsent >= URGENT_BYTES
            return True, self.urgent
        if not self.urgent and self.unsent >= URGENT_BYTES:
            self.urgent = True
            return False, True
        return None

    # Entry points ------------------------------------------------------------------------
    def write(self, stream, text, level=None) -> bool:
        """False once the call is over: the caller writes to the real stream instead. `level`:
        that of the `logging` record a handler writes, for the lines the text ends."""
        with _lock:
            if self.done:
                return False
            self._write(stream, text, level)
            sink, wake = _sink, self._wake()
        if wake is not None and sink is not None:
            sink.pending(self, *wake)
        return True

    def write_bytes(self, stream, data) -> bool:
        """Bytes written to sys.stdout.buffer / sys.stderr.buffer, as UTF-8 text (undecodable bytes
        replaced); a character split across writes (a copy in 64 KiB pieces, a pipe read) kept whole."""
        with _lock:
            if self.done:
                return False
            if self.decoders is None:
                self.decoders = {}
            decoder = self.decoders.get(stream)
            if decoder is None:
                decoder = self.decoders[stream] = codecs.getincrementaldecoder("utf-8")("replace")
            text = decoder.decode(data)
        return self.write(stream, text) if text else True

    def add(self, stream, msg, level=None) -> bool:
        with _lock:
            if self.done:
                return False
            self._add(stream, msg, level)
            sink, wake = _sink, self._wake()
        if wake is not None and sink is not None:
            sink.pending(self, *wake)
        return True

    def take(self) -> list:
        """The lines not yet handed out (for a `logs` batch); [] once the call is over."""
        with _lock:
            lines = self.lines
            self.lines = []
            self.unsent = 0
            self.queued = False
            self.urgent = False
            return lines

    def end_partials(self) -> None:
        """Turns unfinished lines into lines (before the process exits mid-call)."""
        with _lock:
            if not self.done:
                self._end_partials()

    def finish(self) -> list:
        """Ends the capture; returns the lines not yet sent, with the truncation marker if any."""
        with _lock:
            if self.queued_records:
                # The call logged through a QueueHandler: its listener's thread writes the lines,
                # usually only once this thread lets go of the GIL, after the call (apps round 17).
                deadline = time.monotonic() + QUEUED_RECORDS_WAIT_S
                while self.queued_records > 0 and _drained.wait(max(0.0, deadline - time.monotonic())):
                    pass
            if self.partial or self.decoders:
                self._end_partials()
            self.done = True
            if self.truncated:
                self.lines.append({"stream": "stderr", "ts": time.time() * 1000.0,
                                   "msg": f"[logs truncated: {self.dropped_lines} lines, {self.dropped} bytes dropped]"})
                self.dropped = 0
                self.dropped_lines = 0
                self.truncated = False
            lines = self.lines
            self.lines = []
            return lines


def begin(mid=None):
    """Start capturing in the current context; returns (capture, token). With `mid` the lines stream."""
    cap = Capture(mid)
    return cap, _current.set(cap)


# begin() without its tuple: run_sync makes the Capture and sets it itself (issue 11).
set_current = _current.set


def end(cap, token):
    try:
        _current.reset(token)
    except ValueError:
        # The token belongs to another Context: the specialize capture is begun on the main
        # thread and ended inside asyncio.run's task, which runs in a copy of that context.
        _current.set(None)
    return cap.finish()


def current():
    """The capture of the call running in this context, or None."""
    return _current.get()


def _loguru_level(text):
    """The level of a message loguru's sink writes (a `str` subclass carrying its `record`: loguru
    writes to sys.stderr by default, `logger.info` lines counted as errors); else None."""
    if type(text) is str:
        return None
    try:
        name = text.record["level"].name
    except Exception:  # not loguru's message: whatever the app wrote, never its failure
        return None
    return JSON_LEVELS.get(name.lower(), name) if isinstance(name, str) and name else None


class _Proxy:
    """Stands in for sys.stdout / sys.stderr."""

    def __init__(self, name, real):
        self._name = name
        self._real = real

    def write(self, text):
        cap = _current.get()
        if cap is None or not cap.write(self._name, str(text), _record_level.get() or _loguru_level(text)):
            # Outside a call (a thread or task that outlived it): the host prints it in the
            # platform's log (poolmgr/host/function-output.ts), a line at a time as a terminal
            # shows it, not when a block buffer fills or the process ends.
            n = self._real.write(text)
            if "\n" in text:
                self._real.flush()
            return n
        return len(text)

    def flush(self):
        cap = _current.get()
        if cap is None or cap.done:
            self._real.flush()

    def isatty(self):
        return False

    @property
    def buffer(self):
        # sys.stdout.buffer.write(b"...") went to the real stream, past the call's logs.
        return _BufferProxy(self)

    def close(self):
        # A call that closed sys.stdout closed it for every later call of the instance ("write
        # to closed file"); the process's streams are the runtime's, so closing is a no-op.
        pass

    @property
    def closed(self):
        return False

    def __getattr__(self, name):
        return getattr(self._real, name)


class _BufferProxy:
    """sys.stdout.buffer / sys.stderr.buffer: bytes written during a call go to its logs, as text
    (UTF-8, undecodable bytes replaced); outside a call, to the real stream's buffer."""

    def __init__(self, proxy):
        self._proxy = proxy

    def write(self, data):
        cap = _current.get()
        if cap is None or not cap.write_bytes(self._proxy._name, bytes(data)):
            return self._proxy._real.buffer.write(data)
        return len(data)

    def flush(self):
        self._proxy.flush()

    def isatty(self):
        return False

    def __getattr__(self, name):
        return getattr(self._proxy._real.buffer, name)


class _LogHandler(logging.Handler):
    def emit(self, record):
        cap = _current.get()
        if cap is None or cap.done:
            # Outside a call: to the process's stderr, which the host prints in the platform's
            # log (it was dropped: a background loop's warnings went nowhere).
            try:
                sys.__stderr__.write(f"{record.levelname}:{self.format(record)}\n")
                sys.__stderr__.flush()
            except Exception:  # a bad format string, a closed stream: never the caller's failure
                pass
            return
        if _written_by_the_app(self, record):
            return
        try:
            msg = self.format(record)
        except Exception:  # a bad format string must not fail the call
            msg = str(record.msg)
        cap.add("log", msg, record.levelname)


def _written_by_the_app(ours, record):
    """True when a handler of the app's own on the record's way to the root writes it to the
    captured stdout or stderr (`log.addHandler(logging.StreamHandler())` on a logger that propagates,
    `basicConfig(handlers=[StreamHandler()])`): that line is the call's already (with the record's
    level, _handle_with_level), and under uvicorn the unconfigured root adds nothing; here the
    runtime's root handler captured it a second time (every line twice in `logs`)."""
    logger = logging.getLogger(record.name) if record.name != "root" else logging.getLogger()
    while logger is not None:
        for handler in logger.handlers:
            if handler is ours or not isinstance(handler, logging.StreamHandler):
                continue
            if isinstance(getattr(handler, "stream", None), _Proxy) and record.levelno >= handler.level:
                try:
                    if handler.filter(record):
                        return True
                except Exception:
                    continue
        if not logger.propagate:
            return False
        logger = logger.parent
    return False


def set_sink(sink) -> None:
    """Where streaming captures report their first unsent line (flusher.Flusher); None: nowhere."""
    global _sink
    _sink = sink


def sink():
    """The flusher captures report to (None before specialize)."""
    return _sink


def after_fork_install() -> None:
    """A template's forked child is an instance (fp_runtime/template.py): its output goes to calls
    again, through the proxies the at-fork hook took away (the root log handler stayed)."""
    sys.stdout = _Proxy("stdout", sys.__stdout__)
    sys.stderr = _Proxy("stderr", sys.__stderr__)


def _after_fork_in_child():
    """A forked child (multiprocessing, os.fork) has no flusher and a copy of the captures: its
    output goes to the process's own stdout/stderr, never into a call, and it takes a fresh lock
    (another thread may have held this one at the fork)."""
    global _lock, _drained, _sink
    _lock = threading.RLock()
    _drained = threading.Condition(_lock)
    _sink = None
    _current.set(None)
    sys.stdout = sys.__stdout__
    sys.stderr = sys.__stderr__


def _log_handler():
    handler = _LogHandler()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    return handler


# Made at import, before any function is known (a zygote's forks inherit it): a handler, its lock
# and its formatter were ~0.1 ms of a cold start's specialize when made there (issue 11,
# bench/README.md section 3f). It holds nothing of any call until install() adds it to the root.
_HANDLER = _log_handler()


_REAL_BASIC_CONFIG = logging.basicConfig


def _basic_config(**kwargs):
    """`logging.basicConfig` as it behaves on a root logger without handlers, which is what the app
    has under uvicorn: the runtime's handler, the only one on the root, does not count. `level`
    sets the root's level (it did nothing: `basicConfig(level=logging.DEBUG)`, the most common
    setup, dropped every debug line; apps round 6); `filename`/`handlers` add those handlers;
    the default stream handler is not added (the runtime's already takes each record to the
    call's log: it would print every line twice). With `force=True`, or a root the app configured
    itself, Python's own."""
    root = logging.getLogger()
    if kwargs.get("force") or root.handlers != [_HANDLER]:
        return _REAL_BASIC_CONFIG(**kwargs)
    level = kwargs.pop("level", None)
    if "filename" in kwargs or "handlers" in kwargs:
        root.removeHandler(_HANDLER)
        try:
            _REAL_BASIC_CONFIG(**kwargs)
        finally:
            root.addHandler(_HANDLER)
    if level is not None:
        root.setLevel(level)


class _CallRef:
    """The call a record was logged in, carried by the record through a `QueueHandler`'s queue to
    its `QueueListener`'s thread. Pickled (a multiprocessing queue), it is no call."""
    __slots__ = ("cap", "counted")

    def __init__(self, cap, counted):
        self.cap = cap
        self.counted = counted  # in cap.queued_records until released

    def release(self):
        with _lock:
            if self.counted:
                self.counted = False
                self.cap.queued_records -= 1
                if self.cap.queued_records <= 0:
                    _drained.notify_all()

    def __reduce__(self):
        return (_no_call, ())


def _no_call():
    return None


_REAL_HANDLER_HANDLE = logging.Handler.handle
_listened = set()  # id() of the queues a QueueListener took records from
_CALL_KEY = "_fp_call"  # leading underscore: JSON formatters (python-json-logger) leave it out


def _handler_handle(self, record):
    """`logging.Handler.handle`. A `QueueHandler` (a `logging.handlers.QueueListener` writes its
    records from a thread of its own: Litestar's default logging, Python 3.12's dictConfig
    `listener`, the logging cookbook) handed the record on with no call: every line went to the
    platform's log, none to the call's (apps round 17). Its copy of the record now carries the
    call, and the listener writes it as that call's line (below). Any other handler: the lines it
    writes carry the record's level (_handle_with_level)."""
    if not hasattr(self, "enqueue"):
        return _handle_with_level(self, record)
    cap = _current.get()
    if cap is None:
        return _REAL_HANDLER_HANDLE(self, record)
    _watch_queue_listener()
    queue = getattr(self, "queue", None)
    if getattr(getattr(self, "listener", None), "_thread", None) is not None:
        _listened.add(id(queue))  # its running listener (Litestar's, dictConfig's `listener`)
    ref = _CallRef(cap, id(queue) in _listened)
    record.__dict__[_CALL_KEY] = ref
    try:
        if ref.counted:  # a listener took records from this queue: the call's end waits for this one
            with _lock:
                cap.queued_records += 1
        handled = _REAL_HANDLER_HANDLE(self, record)  # QueueHandler.prepare copies the record, mark included
        if ref.counted and not handled:  # filtered out: never queued
            ref.release()
        return handled
    except BaseException:
        if ref.counted:
            ref.release()
        raise
    finally:
        record.__dict__.pop(_CALL_KEY, None)  # the record other handlers see stays as it was


def _handle_with_level(handler, record):
    """A handler of the app's own (a `StreamHandler` to sys.stderr from dictConfig, uvicorn's
    LOGGING_CONFIG, `basicConfig(force=True)`) writes its records as text: each line had its
    stream's level, so `logs --level error` listed every debug and info line written to stderr
    and hid none of the warnings written to stdout (apps round 24). During a call the lines it
    writes carry the record's level."""
    if handler is _HANDLER or _current.get() is None:
        return _REAL_HANDLER_HANDLE(handler, record)
    token = _record_level.set(record.levelname)
    try:
        return _REAL_HANDLER_HANDLE(handler, record)
    finally:
        _record_level.reset(token)


def _watch_queue_listener():
    handlers = sys.modules.get("logging.handlers")
    listener = getattr(handlers, "QueueListener", None)
    if listener is None or getattr(listener.handle, "_fp_call_aware", False):
        return
    real = listener.handle

    def handle(self, record):
        _listened.add(id(self.queue))
        ref = record.__dict__.pop(_CALL_KEY, None)
        # The record's call, also over a capture the listener's thread carries (_carry_into_threads:
        # a listener started during a call).
        if not isinstance(ref, _CallRef):
            return real(self, record)
        token = _current.set(ref.cap)
        try:
            return real(self, record)
        finally:
            _current.reset(token)
            ref.release()

    handle._fp_call_aware = True
    listener.handle = handle


def _carry_into_threads():
    """A thread the function starts during a call, and a task it submits to a ThreadPoolExecutor,
    write into that call's capture: a thread begins with an empty context, so their print() and
    logging went to the platform's log as output "outside a call", missing from the run's logs,
    where Lambda keeps every thread's lines in the invocation's (oddfn round). A task runs with the
    capture of the call that submitted it, whichever worker runs it (a module-level pool serves
    every call); a thread that outlives its call writes to the process's streams, as before."""
    import concurrent.futures.thread as futures_thread
    thread = threading.Thread
    if getattr(thread.start, "_fp_carries", False):
        return
    start, bootstrap = thread.start, thread._bootstrap_inner

    def carrying_start(self):
        self._fp_capture = _current.get()
        return start(self)

    def carrying_bootstrap(self):
        cap = getattr(self, "_fp_capture", None)
        if cap is not None:
            _current.set(cap)  # this thread's own context: nothing to reset
        return bootstrap(self)

    carrying_start._fp_carries = True
    thread.start, thread._bootstrap_inner = carrying_start, carrying_bootstrap

    work = futures_thread._WorkItem
    init, run = work.__init__, work.run

    def carrying_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self._fp_capture = _current.get()

    def carrying_run(self):
        cap = self._fp_capture
        if _current.get() is cap:  # the runtime's own pool: None on both sides
            return run(self)
        token = _current.set(cap)
        try:
            return run(self)
        finally:
            _current.reset(token)

    work.__init__, work.run = carrying_init, carrying_run


def _patch_classes():
    """The class-level patches: threads and pool tasks carry their call's capture, `basicConfig`
    and `Handler.handle` know the runtime's handler. Each does what the original does while no
    capture is current (no call: the zygote, a generic runtime before its specialize), so they are
    made at import, in the memory a zygote's forks share: made at specialize they were ~0.15 ms
    and ~45 copy-on-write faults of every cold start from the pool (closures made, Thread's and
    _WorkItem's dicts and type caches written in a fresh fork; bench/README.md "Where the time
    goes", hot5)."""
    _carry_into_threads()
    logging.basicConfig = _basic_config
    logging.Handler.handle = _handler_handle


_patch_classes()
# Made at import too (a zygote's forks inherit them): each writes to the process's stream it wraps
# (fd 1 or 2 of whichever process runs it) until install() puts it in place.
_PROXIES = (_Proxy("stdout", sys.__stdout__), _Proxy("stderr", sys.__stderr__))


def install(level=logging.INFO):
    """Install the proxies and the root log handler (once, at specialize)."""
    sys.stdout, sys.stderr = _PROXIES
    root = logging.getLogger()
    root.addHandler(_HANDLER)
    root.setLevel(level)
    os.register_at_fork(after_in_child=_after_fork_in_child)
