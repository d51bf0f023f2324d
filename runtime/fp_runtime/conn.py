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
        self._lock = threading.Lock()
        self._owner = None
        self._alock = None

    # Blocking side -------------------------------------------------------------------------
    def recv(self):
        """Next message, BadFrame, or None at end of stream. Raises FrameTooLarge."""
        while not self.queue:
            data = self.sock.recv(1 << 16)
            if not data:
                return None
            self.queue.extend(self.decoder.feed(data))
        return self.queue.pop(0)

    def send(self, message) -> None:
        """One frame, in the blocking phases (generic, sync handlers)."""
        frame = encode(message)
        with self._lock:
            self.sock.sendall(frame)

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
    async def arecv(self, loop):
        while not self.queue:
            data = await loop.sock_recv(self.sock, 1 << 16)
            if not data:
                return None
            self.queue.extend(self.decoder.feed(data))
        return self.queue.pop(0)

    async def asend(self, loop, message) -> None:
        frame = encode(message)
        if self._alock is None:
            self._alock = asyncio.Lock()
        async with self._alock:
            # Held across the await: the asyncio lock keeps the loop's other tasks out, and the
            # flusher thread waits at most for this one frame.
            self._lock.acquire()
            self._owner = threading.get_ident()
            try:
                await loop.sock_sendall(self.sock, frame)
            finally:
                self._owner = None
                self._lock.release()


__all__ = ["Conn", "BadFrame", "FrameTooLarge"]
