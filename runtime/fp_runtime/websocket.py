"""A WebSocket connection served by an ASGI app: one connection is one call (docs/runtime-protocol.md,
"WebSockets"; docs/adr/0126-websockets.md).

The host opens it with `wsopen` (an invoke's map form). The app's `websocket.accept` goes out as a
streamed `response` with status 101 (the subprotocol it chose in `sec-websocket-protocol`); each
`websocket.send` as `chunk`s whose body is the message behind one kind byte (TEXT, BINARY; a message
larger than a piece goes in pieces marked MORE_TEXT / MORE_BINARY, the last one unmarked);
`websocket.close` as a last `chunk` (CLOSE, the code in two bytes, the reason); then the call's
`end`. A close before accept refuses the handshake: `result` 403, as uvicorn answers. The client's
messages come as `wsin` in the same encoding (CLOSE: it closed or went away), and each one the app
takes is acknowledged (`wsack`, its bytes): the host keeps at most a window of them on their way.
"""
import collections
import sys

from . import streaming
from .frames import MAX_FRAME_BYTES
from .scope import build_scope

TEXT, BINARY, CLOSE = 1, 2, 8
MORE = 0x10  # a piece of a message, more pieces follow: MORE | TEXT, MORE | BINARY
PIECE = streaming.MAX_PIECE
# A denial response's body goes in the call's one `result` frame, with room for its headers.
DENIAL_MAX = MAX_FRAME_BYTES - 2 * 1024 * 1024

_open = {}  # call id -> WsExchange, while the connection's call runs


def close_body(code: int, reason: str = "") -> bytes:
    return bytes((CLOSE, (code >> 8) & 0xFF, code & 0xFF)) + reason.encode("utf-8")[:123]


def _parse_close(payload: bytes):
    if len(payload) >= 2:
        return (payload[0] << 8) | payload[1], payload[2:].decode("utf-8", "replace")
    return 1005, ""


class WsExchange:
    """The app's `receive` and `send` for one connection."""

    __slots__ = ("mid", "stream", "conn", "loop", "inbox", "waiter", "state", "connected", "close_code",
                 "close_reason", "refused", "denial")

    def __init__(self, mid, stream, conn, loop):
        self.mid = mid
        self.stream = stream
        self.conn = conn
        self.loop = loop
        self.inbox = collections.deque()
        self.waiter = None
        self.state = "connecting"  # -> "open" (accepted) -> "closed" (the app closed); or "refused"
        self.connected = False  # websocket.connect given to the app
        self.close_code = None  # the client's close (or 1006: it went away)
        self.close_reason = ""
        self.refused = None  # the status of a handshake the app refused
        self.denial = None  # the app's own answer to a refused handshake, being sent (websocket.http.response)
        stream.on_cancel = self._gone

    # From the host ------------------------------------------------------------------------------
    def incoming(self, body) -> None:
        if not isinstance(body, (bytes, bytearray)) or not body:
            return
        self.inbox.append(bytes(body))
        self._wake()

    def _gone(self) -> None:
        if self.close_code is None:
            self.close_code = 1006
        self._wake()

    def _wake(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # The app's side -----------------------------------------------------------------------------
    async def receive(self):
        if not self.connected:
            self.connected = True
            return {"type": "websocket.connect"}
        while not self.inbox:
            if self.close_code is not None or self.state in ("closed", "refused"):
                return {"type": "websocket.disconnect", "code": self.close_code or 1000, "reason": self.close_reason}
            self.waiter = self.loop.create_future()
            await self.waiter
        body = self.inbox.popleft()
        await self.conn.asend(self.loop, {"t": "wsack", "id": self.mid, "bytes": len(body)})
        kind = body[0]
        if kind == TEXT:
            return {"type": "websocket.receive", "text": body[1:].decode("utf-8")}
        if kind == BINARY:
            return {"type": "websocket.receive", "bytes": body[1:]}
        self.close_code, self.close_reason = _parse_close(body[1:])
        self.inbox.clear()
        return {"type": "websocket.disconnect", "code": self.close_code, "reason": self.close_reason}

    async def send(self, message):
        kind = message["type"]
        if kind == "websocket.accept" and self.state == "connecting":
            headers = [(bytes(k).decode("latin-1").lower(), bytes(v).decode("latin-1")) for k, v in message.get("headers") or ()]
            if message.get("subprotocol"):
                headers.append(("sec-websocket-protocol", str(message["subprotocol"])))
            self.state = "open"
            await self.stream.respond({"status": 101, "headers": headers, "body": b""}, True)
        elif kind == "websocket.close" and self.state == "connecting":
            self.state = "refused"
            self.refused = 403
        elif kind == "websocket.http.response.start" and self.state == "connecting":
            # The denial-response extension (ASGI 2.4, offered in the scope as uvicorn offers it):
            # the handshake is answered with the app's own HTTP response, status, headers and body.
            status = message["status"]
            if type(status) is not int or not 100 <= status <= 599 or status == 101:
                raise RuntimeError(f"a WebSocket denial response needs an HTTP status other than 101, not {status!r}")
            headers = [(bytes(k).decode("latin-1").lower(), bytes(v).decode("latin-1")) for k, v in message.get("headers") or ()]
            self.denial = {"status": status, "headers": headers, "body": []}
            if not all(v.isascii() for _, v in headers):
                self.denial["latin1"] = True  # written back as those bytes, as an HTTP answer's (asgi.py)
            self.state = "denying"
        elif kind == "websocket.http.response.body" and self.state == "denying":
            body = self.denial["body"]
            body.append(bytes(message.get("body", b"")))
            if sum(map(len, body)) > DENIAL_MAX:
                raise RuntimeError(f"a WebSocket denial response's body is larger than {DENIAL_MAX} bytes")
            if not message.get("more_body", False):
                self.denial["body"] = b"".join(body)
                self.state = "refused"
                self.refused = self.denial["status"]
        elif kind == "websocket.send" and self.state == "open":
            if self.close_code is not None:
                raise streaming.ClientDisconnected("the client closed the WebSocket connection")
            text = message.get("text")
            if text is not None:
                await self._message(TEXT, str(text).encode("utf-8"))
            else:
                await self._message(BINARY, bytes(message.get("bytes") or b""))
        elif kind == "websocket.close" and self.state == "open":
            self.state = "closed"
            if self.close_code is None:
                code = message.get("code") or 1000
                await self._piece(close_body(int(code), str(message.get("reason") or "")), False)
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} on a WebSocket in state {self.state!r}")

    async def _message(self, kind, data: bytes) -> None:
        view = memoryview(data)
        while len(view) > PIECE:
            await self._piece(bytes((MORE | kind,)) + view[:PIECE], True)
            view = view[PIECE:]
        await self._piece(bytes((kind,)) + view, True)

    async def _piece(self, body: bytes, more: bool) -> None:
        stream = self.stream
        try:
            await stream._room(len(body))
        except streaming.ClientDisconnected:
            self._gone()
            raise
        await self.conn.asend(self.loop, {"t": "chunk", "id": self.mid, "body": body, "more": more})


def open_exchange(mid, stream, conn, loop) -> WsExchange:
    ex = WsExchange(mid, stream, conn, loop)
    _open[mid] = ex
    return ex


def close_exchange(mid) -> None:
    _open.pop(mid, None)


def route(msg) -> None:
    """A `wsin` from the host; one for a connection whose call ended is dropped."""
    ex = _open.get(msg.get("id"))
    if ex is not None:
        ex.incoming(msg.get("body"))


def scope_of(event: dict, app) -> dict:
    """The ASGI `websocket` scope of a `wsopen`'s event (the same fields as an `http` scope's)."""
    scope = build_scope(event, app)
    scope["type"] = "websocket"
    scope["scheme"] = "wss" if scope["scheme"] == "https" else "ws"
    del scope["method"]
    protocols = []
    for name, value in scope["headers"]:
        if name == b"sec-websocket-protocol":
            protocols += [p.strip() for p in value.decode("latin-1").split(",") if p.strip()]
    scope["subprotocols"] = protocols
    scope["asgi"] = {"version": "3.0", "spec_version": "2.3"}
    scope["extensions"] = {"websocket.http.response": {}}
    return scope


def _failure_under(err):
    """The app's own exception under a WebSocketDisconnect (its `__cause__`/`__context__` chain,
    past the disconnects: Starlette's send turns our ClientDisconnected into one), or None. One
    raised in the `finally` or `except` of the app's own failure (a KeyError, then a send_text to
    the client that left) ended the call as succeeded with that failure nowhere on record (red23);
    the failure is the call's error instead (ADR 0148)."""
    seen = set()
    while err is not None and id(err) not in seen:
        if type(err).__name__ != "WebSocketDisconnect" and not isinstance(err, streaming.ClientDisconnected):
            # A cancellation or exit under it (not an Exception) is left as the call's end was before.
            return err if isinstance(err, Exception) else None
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


async def serve(app, scope: dict, ex: WsExchange, state: dict):
    """Runs the app on one connection. Returns the answer to a refused handshake (status, headers,
    body: 403 and nothing else, or the app's denial response), or None."""
    if state:
        scope["state"] = dict(state)
    try:
        await app(scope, ex.receive, ex.send)
    except streaming.ClientDisconnected:
        if ex.close_code is None:
            raise
    except Exception as err:
        # Starlette's (FastAPI's) receive_text() and send_text() raise WebSocketDisconnect once the
        # client closed: FastAPI's own echo example (`while True: await ws.receive_text()`) ends so.
        # After the client's close that is how the connection ended, not a failure (ADR 0148).
        if ex.close_code is None or type(err).__name__ != "WebSocketDisconnect":
            raise
        failure = _failure_under(err)
        if failure is not None:
            print(f"the client closed the WebSocket ({ex.close_code}); the app's {type(err).__name__} came while "
                  f"it handled its own {type(failure).__name__}, the call's failure", file=sys.stderr)
            raise failure from None
        print(f"the client closed the WebSocket ({ex.close_code}); the app's {type(err).__name__} "
              "ended the call", file=sys.stderr)
    if ex.state == "denying":
        raise RuntimeError("the ASGI app returned without finishing its WebSocket denial response (more_body was never false)")
    if ex.state == "connecting":
        ex.state = "refused"
        ex.refused = 403 if ex.refused is None else ex.refused
    elif ex.state == "open" and ex.close_code is None:
        # Returned without closing: the server closes, as uvicorn does (1000).
        ex.state = "closed"
        try:
            await ex._piece(close_body(1000), False)
        except streaming.ClientDisconnected:
            pass  # the client left meanwhile: nothing to close
    elif ex.state == "open":
        ex.state = "closed"
    if ex.state != "refused":
        return None
    if ex.denial is not None and type(ex.denial["body"]) is bytes:
        return ex.denial
    return {"status": ex.refused, "headers": [], "body": b""}

