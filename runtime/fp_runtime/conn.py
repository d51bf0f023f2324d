"""The runtime's end of the socket: blocking reads in the generic and sync phases, asyncio later."""
import asyncio
import socket
import threading

from .frames import BadFrame, Decoder, FrameTooLarge, encode


class Conn:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.decoder = Decoder()
        self.queue = []
        self._lock = threading.Lock()
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
        frame = encode(message)
        with self._lock:
            self.sock.sendall(frame)

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
            await loop.sock_sendall(self.sock, frame)


__all__ = ["Conn", "BadFrame", "FrameTooLarge"]
