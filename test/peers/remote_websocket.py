"""TestClient.websocket_connect over the network, for the peer tier's `platform` mode.

A test's `client.websocket_connect(url)` on a deployed app opens a real WebSocket to the gateway
(the app at the root of its own host, `<name>.localhost`, as RemoteTransport sends HTTP requests:
the test's Host as X-Forwarded-Host, its client as X-Forwarded-For, its root_path as
X-Forwarded-Prefix), with the client's headers and cookies, and gives the test the methods of
Starlette's WebSocketTestSession: send_text/bytes/json, receive, receive_text/bytes/json, close,
the context manager, `accepted_subprotocol` and `extra_headers`. A close from the server is
`websocket.close` from `receive()` and WebSocketDisconnect from the typed receives, as in-process.
What cannot cross a network is not imitated: an exception the app raises stays in the app.
"""
from __future__ import annotations

import base64
import json
import os
import socket
import struct
from typing import Any

from starlette.websockets import WebSocketDisconnect


class RemoteWebSocket:
    def __init__(self, transport, url, headers: list[tuple[bytes, bytes]], subprotocols, timeout: float):
        self._transport = transport
        self._raw_path = url.raw_path
        self._headers = headers
        self._subprotocols = list(subprotocols or [])
        self._timeout = timeout
        self._sock: socket.socket | None = None
        self._buffer = b""
        self._closed = False
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] = []

    # The context manager: connect on enter, close (1000) on exit.
    def __enter__(self) -> "RemoteWebSocket":
        t = self._transport
        name = t.root.rsplit(b"/", 1)[-1]
        key = base64.b64encode(os.urandom(16))
        lines = [b"GET " + self._raw_path + b" HTTP/1.1", b"Host: " + name + b".localhost:" + str(t.port).encode(),
                 b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Key: " + key, b"Sec-WebSocket-Version: 13"]
        if self._subprotocols:
            lines.append(b"Sec-WebSocket-Protocol: " + ", ".join(self._subprotocols).encode())
        lines += [k + b": " + v for k, v in self._headers]
        self._sock = socket.create_connection((t.host, t.port), timeout=self._timeout)
        self._sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        while b"\r\n\r\n" not in self._buffer:
            self._read()
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.split(b"\r\n")
        status = int(status_line.split(b" ")[1])
        pairs = [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(b":") for line in header_lines)]
        if status != 101:
            self._sock.close()
            # In-process an app that closes before accepting raises WebSocketDisconnect here (uvicorn answers 403).
            raise WebSocketDisconnect(code=1008 if status == 403 else 1006, reason=f"HTTP {status}")
        self.extra_headers = pairs
        protocol = dict(pairs).get(b"sec-websocket-protocol")
        self.accepted_subprotocol = protocol.decode() if protocol else None
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.close(1000)
        finally:
            if self._sock is not None:
                self._sock.close()

    # Sending.
    def send(self, message: dict[str, Any]) -> None:
        if message.get("type") == "websocket.disconnect":
            self.close(message.get("code", 1000), message.get("reason"))
        elif message.get("bytes") is not None:
            self._frame(0x2, message["bytes"])
        else:
            self._frame(0x1, message.get("text", "").encode())

    def send_text(self, data: str) -> None:
        self._frame(0x1, data.encode())

    def send_bytes(self, data: bytes) -> None:
        self._frame(0x2, data)

    def send_json(self, data: Any, mode: str = "text") -> None:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            self.send_text(text)
        else:
            self.send_bytes(text.encode())

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        if self._closed or self._sock is None:
            return
        self._closed = True
        try:
            self._frame(0x8, struct.pack("!H", code) + (reason or "").encode())
        except OSError:
            pass

    # Receiving.
    def receive(self) -> dict[str, Any]:
        opcode, data = None, b""
        while True:
            fin, op, payload = self._read_frame()
            if op == 0x9:  # ping
                self._frame(0xA, payload)
                continue
            if op == 0xA:
                continue
            if op == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                if not self._closed:
                    self._closed = True
                    try:
                        self._frame(0x8, payload[:2])
                    except OSError:
                        pass
                return {"type": "websocket.close", "code": code, "reason": payload[2:].decode(errors="replace")}
            if op != 0x0:
                opcode = op
            data += payload
            if fin:
                break
        if opcode == 0x2:
            return {"type": "websocket.send", "bytes": data}
        return {"type": "websocket.send", "text": data.decode()}

    def receive_text(self) -> str:
        return self._open(self.receive())["text"]

    def receive_bytes(self) -> bytes:
        return self._open(self.receive())["bytes"]

    def receive_json(self, mode: str = "text") -> Any:
        message = self._open(self.receive())
        return json.loads(message["text"] if mode == "text" else message["bytes"].decode())

    @staticmethod
    def _open(message: dict[str, Any]) -> dict[str, Any]:
        if message["type"] == "websocket.close":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        return message

    # Framing (RFC 6455): client frames are masked.
    def _frame(self, opcode: int, payload: bytes) -> None:
        assert self._sock is not None
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self._sock.sendall(head + mask + masked)

    def _read(self) -> None:
        assert self._sock is not None
        chunk = self._sock.recv(65536)
        if not chunk:
            raise WebSocketDisconnect(1006, "the connection closed")
        self._buffer += chunk

    def _take(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._read()
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def _read_frame(self) -> tuple[bool, int, bytes]:
        first, second = self._take(2)
        n = second & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._take(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._take(8))[0]
        return bool(first & 0x80), first & 0x0F, self._take(n)
