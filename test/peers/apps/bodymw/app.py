"""Middleware that reads the request body (BaseHTTPMiddleware, then the endpoint reads it again),
a pure ASGI middleware that wraps receive and send, one that answers early, and one that adds
headers to every response."""
import hashlib
import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

app = FastAPI()


class Signature:
    """Pure ASGI: hashes the body as it arrives and adds X-Body-SHA256 to the response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        h = hashlib.sha256()
        chunks = 0

        async def wrapped_receive():
            nonlocal chunks
            msg = await receive()
            if msg["type"] == "http.request":
                h.update(msg.get("body", b""))
                chunks += 1
            return msg

        async def wrapped_send(msg):
            if msg["type"] == "http.response.start":
                msg["headers"] = list(msg["headers"]) + [(b"x-body-sha256", h.hexdigest().encode()), (b"x-receive-calls", str(chunks).encode())]
            await send(msg)

        await self.app(scope, wrapped_receive, wrapped_send)


@app.middleware("http")
async def audit(request: Request, call_next):
    body = await request.body()
    if request.headers.get("x-block") == "1":
        return JSONResponse({"blocked": len(body)}, status_code=403)
    response = await call_next(request)
    response.headers["X-Seen-Bytes"] = str(len(body))
    return response


app.add_middleware(Signature)


@app.post("/echo")
async def echo(request: Request):
    body = await request.body()
    return {"len": len(body), "sha": hashlib.sha256(body).hexdigest()[:16]}


@app.post("/json")
async def as_json(request: Request):
    return {"got": await request.json()}


@app.post("/form")
async def form(request: Request):
    f = await request.form()
    return {k: (v if isinstance(v, str) else f"<file {v.filename} {v.size}>") for k, v in f.multi_items()}


@app.post("/stream-in")
async def stream_in(request: Request):
    n = 0
    async for chunk in request.stream():
        n += len(chunk)
    return {"streamed": n}


@app.get("/stream-out")
async def stream_out():
    async def gen():
        for i in range(3):
            yield json.dumps({"i": i}).encode() + b"\n"
    return StreamingResponse(gen(), media_type="application/x-ndjson")
