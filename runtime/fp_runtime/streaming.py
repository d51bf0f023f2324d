"""A call's response sent while the call runs (protocol v3, docs/runtime-protocol.md "Streamed
responses"): the head with the first bytes (`response`), the next bytes (`chunk`), then the call's
end (`end`, or `error`).

Backpressure: a call never has more than WINDOW body bytes sent and not acknowledged. The host
acknowledges bytes (`ack`) once the client's connection took them, so a slow reader stops the
app's `send` here instead of growing the platform's memory. A `cancel` from the host (the client
went away) wakes a waiting `send`, which then raises ClientDisconnected, and the app's `receive`
returns `http.disconnect`. Why a window per call: docs/adr/0017-streamed-responses.md.
"""
from .frames import bounded_headers, encode_chunk

# Bytes of one call's body in flight between this runtime and the client's connection.
WINDOW = 256 * 1024
# Largest body piece in one frame: a bigger ASGI message is sent in pieces, each within the window.
MAX_PIECE = 64 * 1024

_open = {}  # call id -> CallStream, while the call runs


class ClientDisconnected(OSError):
    """The client went away (the host said `cancel`): what the stream's writes raise. The app's
    `send` drops its message instead, as uvicorn's does, up to a bound (asgi._Exchange._dropped)."""


class CallStream:
    __slots__ = ("id", "conn", "loop", "unacked", "sent", "responded", "cancelled", "_credit", "on_cancel")

    def __init__(self, mid, conn, loop):
        self.id = mid
        self.conn = conn
        self.loop = loop
        self.unacked = 0
        self.sent = 0
        # The head went to the host (`response`), even with no body byte yet (`sent` 0): an app's
        # empty first piece. What the call does next is a streamed response's (asgi.serve).
        self.responded = False
        self.cancelled = False
        self._credit = None  # a future a `send` waits on while the window is full
        self.on_cancel = None  # called on `cancel` (wakes the app's waiting `receive`s: asgi.py)

    async def respond(self, response: dict, more: bool) -> None:
        """The head and first bytes; `more`: chunks follow. Else the response is complete."""
        body = response["body"]
        first, rest = body[:MAX_PIECE], body[MAX_PIECE:]
        await self._room(len(first))
        self.responded = True
        # A streamed head too: at most one header past the gateway's bound (frames.bounded_headers).
        await self.conn.asend(self.loop, {"t": "response", "id": self.id,
                                          "response": {**bounded_headers(response), "body": first}, "more": bool(more or rest)})
        if rest:
            await self.chunk(rest, more)

    def chunk(self, body: bytes, more: bool):
        """The next body bytes (`more`: more follow): an awaitable. A piece that fits one frame and
        the window (the usual small piece) is encoded and written at once, with no coroutine of
        this method's, no view and no wait for room (apps round 17: per-piece cost); else _pieces."""
        n = len(body)
        if 0 < n <= MAX_PIECE and not self.cancelled and (self.unacked <= 0 or self.unacked + n <= WINDOW):
            self.unacked += n
            self.sent += n
            # Written by hand: the piece is copied once, into its frame (frames.encode_chunk).
            return self.conn.asend_frame(self.loop, encode_chunk(self.id, body, more))
        return self._pieces(body, more)

    async def _pieces(self, body: bytes, more: bool) -> None:
        """chunk's general case: a body in frames of MAX_PIECE, each waiting for room in the window."""
        view = memoryview(body)
        while True:
            piece = view[:MAX_PIECE]
            view = view[MAX_PIECE:]
            last = not view
            if not piece and more:
                return  # an empty piece that ends nothing: nothing to send
            await self._room(len(piece))
            # Written by hand: the piece is copied once, into its frame (frames.encode_chunk).
            await self.conn.asend_frame(self.loop, encode_chunk(self.id, piece, more or not last))
            if last:
                return

    async def _room(self, size: int) -> None:
        while not self.cancelled and self.unacked > 0 and self.unacked + size > WINDOW:
            self._credit = self.loop.create_future()
            await self._credit
        if self.cancelled:
            raise ClientDisconnected("the client closed the connection")
        self.unacked += size
        self.sent += size

    def ack(self, n) -> None:
        if isinstance(n, int) and n > 0:
            self.unacked = max(0, self.unacked - n)
            self._wake()

    def cancel(self) -> None:
        self.cancelled = True
        if self.on_cancel is not None:
            self.on_cancel()
        self._wake()

    def _wake(self) -> None:
        fut, self._credit = self._credit, None
        if fut is not None and not fut.done():
            fut.set_result(None)


def open_stream(mid, conn, loop) -> CallStream:
    stream = CallStream(mid, conn, loop)
    _open[mid] = stream
    return stream


def close_stream(mid) -> None:
    _open.pop(mid, None)


def route(msg) -> None:
    """An `ack` or `cancel` from the host; one for a call that already ended is ignored."""
    stream = _open.get(msg.get("id"))
    if stream is None:
        return
    if msg["t"] == "ack":
        stream.ack(msg.get("bytes"))
    else:
        stream.cancel()
