"""Streaming a call's log lines to the host while it runs: `logs` messages (docs/runtime-protocol.md).

Lines go out in batches, never one by one. A call's first unsent line wakes one helper thread
(started by the first line the function ever prints), which waits FLUSH_INTERVAL_S (less once a
call has capture.URGENT_BYTES unsent) and then sends the unsent lines of every call, one `logs`
message per call, in one write. A thread, because a sync handler blocks the main thread and an
async one may block the event loop; while no call has an unsent line it sleeps, so a call that
prints nothing costs nothing and sends no extra frame.

Ordering: a batch is taken from its capture and written under the connection's send lock
(Conn.send_built), and a call's reply is written under that lock after its rest was taken, so a
call's batches always reach the host before its reply. A call the host kills keeps what was sent.

os._exit is wrapped to send what the calls have printed so far (their unfinished lines included)
before the process exits; SIGKILL, a timeout or the kernel's OOM killer lose at most the last
FLUSH_INTERVAL_S of output.
"""
import _thread
import functools
import os
import threading
import time

from . import capture

FLUSH_INTERVAL_S = 0.05
# What the thread maps when it starts after the memory limit: glibc's reservation for a thread's
# malloc arena on 64-bit (HEAP_MAX_SIZE, 64 MiB) and its stack (specialize.THREAD_STACK_BYTES).
RESERVE_BYTES = (64 + 2) * 1024 * 1024
# How long a process that is exiting waits to get the send lock from another thread.
EXIT_FLUSH_TIMEOUT_S = 1.0


class Flusher:
    RESERVE_BYTES = RESERVE_BYTES

    def __init__(self, conn, interval=FLUSH_INTERVAL_S):
        self.conn = conn
        self.interval = interval
        self._cond = threading.Condition()  # an RLock: a signal handler that prints may interrupt pending()
        self._queued = []  # captures with unsent lines
        self._urgent = False
        self._started = False

    def install(self):
        """At specialize, inside the box: captures report to this flusher, os._exit flushes first.
        The thread itself starts at the first line to send (see pending): a function that never
        prints never has it, and specialize (the cold-start path) does not wait for a new thread,
        which may wait milliseconds for a CPU on a busy host."""
        capture.set_sink(self)
        _wrap_exit(self)

    def pending(self, cap, first, urgent):
        """Called by a capture (outside its lock): it has unsent lines, maybe enough to send now."""
        with self._cond:
            if not self._started:
                self._start()
            # The thread is woken only when it must act: a first capture queued while it waits for
            # one, or the first urgent one. Woken for every call's first line (7k a second at one
            # connection) it took the GIL and a CPU each time for nothing: ~27 % of a core and a
            # p99 of ~3 ms (bench/README.md, "The flusher's wake-ups").
            wake = False
            if first:
                wake = not self._queued
                self._queued.append(cap)
            if urgent and not self._urgent:
                self._urgent = wake = True
            if wake:
                self._cond.notify()

    def _start(self):
        # A thread made by a thread of the function: it has the box's identity, limits and seccomp
        # filter. Low-level: user code listing threads does not see it. Its stack and malloc arena
        # are provided for in the memory limit (RESERVE_BYTES, specialize.limit_memory).
        self._started = True
        try:
            _thread.start_new_thread(self._run, ())
        except RuntimeError:  # no thread to be had (the task limit): lines go with the reply, as in v1
            pass

    def _run(self):
        while True:
            with self._cond:
                while not self._queued:
                    self._cond.wait()
                deadline = time.monotonic() + self.interval
                while not self._urgent:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                caps, self._queued, self._urgent = self._queued, [], False
            try:
                self.conn.send_built(functools.partial(_batches, caps))
            except OSError:  # the host is gone: the runtime ends at end of stream
                return
            except Exception:  # e.g. MemoryError under the function's limit: those lines are lost, not the thread
                pass

    def flush_now(self, timeout=EXIT_FLUSH_TIMEOUT_S):
        """Sends every unsent line now, this thread's call's unfinished lines too (before an exit)."""
        with self._cond:
            caps, self._queued, self._urgent = self._queued, [], False
        cap = capture.current()
        if cap is not None:
            cap.end_partials()
            caps.append(cap)  # taken twice at most: the second take is empty
        self.conn.send_built(functools.partial(_batches, caps), timeout)


def _batches(caps):
    out = []
    for cap in caps:
        if cap.id is None:  # a template's load: its lines go with its reply
            continue
        lines = cap.take()
        if lines:
            out.append({"t": "logs", "id": cap.id, "logs": lines})
    return out


def _wrap_exit(flusher):
    """os._exit sends the calls' unsent lines first (in this process only: a forked child holds a
    copy of the socket and must not write to it)."""
    real_exit = os._exit
    pid = os.getpid()

    @functools.wraps(real_exit)
    def _exit(status):
        if os.getpid() == pid:
            try:
                flusher.flush_now()
            except BaseException:  # exiting must not fail; the lines are lost, nothing else
                pass
        real_exit(status)

    os._exit = _exit
