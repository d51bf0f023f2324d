"""Responses as a raw ASGI app writes them, which frameworks smooth over: its own Content-Length
(right, too short, too long), Transfer-Encoding it sets itself, Latin-1 bytes in header values,
many and long headers, an empty body in many messages, 1-byte chunks, HEAD on a stream, and a
response that never starts."""
import asyncio

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

inner = FastAPI()


@inner.get("/tiny-chunks")
async def tiny():
    async def gen():
        for i in range(2000):
            yield b"x"
    return StreamingResponse(gen(), media_type="text/plain")


@inner.api_route("/stream-head", methods=["GET", "HEAD"])
async def stream_head():
    async def gen():
        yield b"abc"
        yield b"def"
    return StreamingResponse(gen(), media_type="text/plain", headers={"Content-Length": "6"})


@inner.get("/latin1-header")
def latin1():
    from starlette.responses import Response
    r = Response(b"ok", media_type="text/plain")
    r.raw_headers.append((b"x-latin", "café".encode("latin-1")))
    r.raw_headers.append((b"content-disposition", "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.txt".encode()))
    return r


@inner.get("/many-headers")
def many():
    from starlette.responses import Response
    r = Response(b"ok", media_type="text/plain")
    for i in range(120):
        r.raw_headers.append((f"x-h{i}".encode(), b"v"))
    r.raw_headers.append((b"x-long", b"L" * 20000))
    return r


async def app(scope, receive, send):
    if scope["type"] != "http":
        return await inner(scope, receive, send)
    path = scope["path"][len(scope.get("root_path", "")):] if scope["path"].startswith(scope.get("root_path", "") or "\0") else scope["path"]
    if path == "/cl-right":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5"), (b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"hel", "more_body": True})
        await send({"type": "http.response.body", "body": b"lo"})
    elif path == "/cl-short":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10"), (b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"hello"})
    elif path == "/cl-long":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2"), (b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"hello"})
    elif path == "/te-chunked":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"transfer-encoding", b"chunked"), (b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/empty-messages":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for _ in range(5):
            await send({"type": "http.response.body", "body": b"", "more_body": True})
        await send({"type": "http.response.body", "body": b"end"})
    elif path == "/hop-by-hop":
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"connection", b"close"), (b"keep-alive", b"timeout=5"), (b"upgrade", b"h2c"), (b"proxy-connection", b"x"),
            (b"x-kept", b"1"), (b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"hop"})
    elif path == "/no-start":
        return
    elif path == "/no-body":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    elif path == "/dup-ctype":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain"), (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})
    elif path == "/header-spaces":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-pad", b"  padded  "), (b"X-Mixed-Case", b"v"), (b"x-empty", b"")]})
        await send({"type": "http.response.body", "body": b"ok"})
    else:
        await inner(scope, receive, send)
