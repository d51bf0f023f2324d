"""The runtime's end of the socket: blocking reads in the generic and sync phases, asyncio later.

Frames are written by the thread serving calls (or the event loop) and by the log flusher thread
(flusher.py), so every write of a frame holds one lock: frames never interleave. In the asyncio phase `_owner`
names the thread holding it across an await, so that an exit hook called by a handler on that
same thread (the loop's) does not wait for itself.
"""
import asyncio
import select
import socket
import threading

from .frames import BadFrame, Decoder, FrameTooLarge, encode


class Conn:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.decoder = Decoder()
        self.queue = []
        self._readable = select.poll()
        self._readable.register(sock, select.POLLIN)
        self._lock = threading.Lock()
        self._owner = None
        self._alock = None
        self._asending = 0  # asend calls holding or waiting for _alock

    # Blocking side -------------------------------------------------------------------------
    def recv(self):
        """Next message, BadFrame, or None at end of stream. Raises FrameTooLarge."""
        while not self.queue:
            if not self.fill():
                return None
        return self.queue.pop(0)

    def fill(self) -> bool:
        """Waits for data and appends the messages it completes to `queue` (maybe none: a frame's
        start); False at end of stream. Raises FrameTooLarge."""
        # Sleep in poll(POLLIN), not in recv: a reader blocked in recv() on a Unix stream socket
        # is woken each time the host reads a reply this side wrote (the kernel's write-space
        # wake-up shares the reader's wait queue), so it would wake, find nothing and sleep
        # again once per call, while the host handles that reply (issue 11).
        self._readable.poll()
        data = self.sock.recv(1 << 16)
        if not data:
            return False
        self.queue.extend(self.decoder.feed(data))
        return True

    def send(self, message) -> None:
        """One frame, in the blocking phases (generic, sync handlers)."""
        self.send_frame(encode(message))

    def send_frame(self, frame) -> None:
        """An encoded frame, in the blocking phases: one send, the rest (rarely any) after it."""
        with self._lock:
            sent = self.sock.send(frame)
            if sent < len(frame):
                self.sock.sendall(memoryview(frame)[sent:])

    def send_built(self, build, timeout=-1) -> bool:
        """Calls build() under the send lock and writes the messages it returns in one write, so
        what build() took is on the wire before anything sent after. False (nothing built) when
        this thread is itself mid-write or the lock was not free within `timeout` seconds."""
        me = threading.get_ident()
        if self._owner == me or not self._lock.acquire(timeout=timeout):
            return False
        self._owner = me
        try:
            messages = build()
            if messages:
                self._write(b"".join(encode(m) for m in messages))
        finally:
            self._owner = None
            self._lock.release()
        return True

    def _write(self, data) -> None:
        """All of `data`, on a blocking socket or (from a thread, in the asyncio phase) a non-blocking one."""
        if self.sock.getblocking():
            self.sock.sendall(data)
            return
        view = memoryview(data)
        while view:
            try:
                view = view[self.sock.send(view):]
            except BlockingIOError:
                select.select([], [self.sock], [])

    # asyncio side --------------------------------------------------------------------------
    def listen(self, loop, on_message) -> None:
        """Calls on_message(msg) for every message as it arrives, from one reader callback kept on
        the loop for the rest of the phase: a call costs one recv and no future, task or epoll
        registration of its own (sock_recv registers and unregisters the socket on every read).
        Messages already read in the blocking phase (an invoke right behind `specialize`) come first.
        At end of stream on_message(None), for a length prefix over the limit on_message(FrameTooLarge),
        and nothing after either."""
        queued, self.queue = self.queue, []
        for m in queued:
            on_message(m)
        buf = bytearray(1 << 16)
        view = memoryview(buf)
        recv_into = self.sock.recv_into
        feed = self.decoder.feed

        def readable():
            try:
                n = recv_into(buf)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                n = 0  # the host is gone: as end of stream
            if n == 0:
                loop.remove_reader(self.sock)
                on_message(None)
                return
            try:
                messages = feed(view[:n])
            except FrameTooLarge as err:
                loop.remove_reader(self.sock)
                on_message(err)
                return
            for m in messages:
                on_message(m)

        loop.add_reader(self.sock, readable)

    def asend(self, loop, message):
        """One message, in the asyncio phase: an awaitable (asend_frame's, no coroutine of its own)."""
        return self.asend_frame(loop, encode(message))

    async def asend_frame(self, loop, frame) -> None:
        """An encoded frame, in the asyncio phase. Once called, the frame goes out whole, in call
        order, even if the caller is cancelled meanwhile: a write cut off part-way (Starlette
        cancels a streaming task when the client leaves) would leave part of a frame on the wire,
        and the host's decoder would read every later frame out of step (the instance wedged)."""
        if self._alock is None:
            self._alock = asyncio.Lock()
        if self._asending == 0 and self._lock.acquire(blocking=False):
            # Nobody is writing or waiting to: the frame goes now if the socket takes it whole (the
            # usual case), without a wait on either lock or a task.
            try:
                sent = self.sock.send(frame)
            except BlockingIOError:
                sent = 0
            except BaseException:
                self._lock.release()
                raise
            if sent == len(frame):
                self._lock.release()
                return
            # The rest goes before any other frame: both locks stay held until it is out. The
            # asyncio lock has no holder and no waiter (none in the slow path): taking it does not wait.
            frame = memoryview(frame)[sent:]
            self._asending += 1
            await self._alock.acquire()
            write = self._write_held(loop, frame)
        else:
            self._asending += 1
            write = self._write_queued(loop, frame)
        task = loop.create_task(write)
        task.add_done_callback(_retrieve)
        await asyncio.shield(task)

    async def _write_queued(self, loop, frame) -> None:
        """Waits for both locks (in order behind the frames before it), then writes."""
        try:
            await self._alock.acquire()
        except BaseException:
            self._asending -= 1
            raise
        self._lock.acquire()
        await self._write_held(loop, frame)

    async def _write_held(self, loop, frame) -> None:
        """Writes with both locks held, then releases them. Held across the await: the asyncio lock
        keeps the loop's other tasks out, and the flusher thread waits at most for this one frame."""
        self._owner = threading.get_ident()
        try:
            await loop.sock_sendall(self.sock, frame)
        finally:
            self._owner = None
            self._lock.release()
            self._alock.release()
            self._asending -= 1


def _retrieve(task) -> None:
    """A write whose caller was cancelled has nobody to raise to: its error is read here (the host
    going away ends the runtime anyway), so asyncio logs no "exception was never retrieved"."""
    if not task.cancelled():
        task.exception()


__all__ = ["Conn", "BadFrame", "FrameTooLarge"]
