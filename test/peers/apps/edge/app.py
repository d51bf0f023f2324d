"""Edges of HTTP an app meets in the wild: raw bytes in paths and headers, chunked uploads,
Expect: 100-continue, repeated headers, a catch-all exception handler, a stream that fails
midway, gzip on a stream, a 204 with a body."""
import asyncio

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

app = FastAPI()
app.add_middleware(GZipMiddleware, minimum_size=10)


@app.exception_handler(Exception)
async def any_error(request: Request, exc: Exception):
    return JSONResponse({"error": type(exc).__name__, "msg": str(exc)}, status_code=500)


@app.api_route("/echo/{rest:path}", methods=["GET", "POST", "PUT"])
async def echo(request: Request, rest: str):
    body = await request.body()
    return {
        "rest": rest,
        "path": request.scope["path"],
        "raw_path": request.scope["raw_path"].decode("latin-1"),
        "query": request.scope["query_string"].decode("latin-1"),
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.scope["headers"] if k not in (b"host", b"user-agent")],
        "multi": request.headers.getlist("x-multi"),
        "x_name": request.headers.get("x-name"),
        "cookies": request.cookies,
        "len": len(body),
        "http_version": request.scope["http_version"],
    }


@app.get("/fail")
def fail():
    raise ValueError("bad value")


@app.get("/stream-fail")
async def stream_fail():
    async def gen():
        yield b"first\n"
        await asyncio.sleep(0.01)
        raise RuntimeError("midway")
    return StreamingResponse(gen(), media_type="text/plain")


@app.get("/stream-gzip")
async def stream_gzip():
    async def gen():
        for i in range(50):
            yield f"line {i} " * 10 + "\n"
    return StreamingResponse(gen(), media_type="text/plain")


@app.get("/nocontent-body")
def nocontent_body():
    return Response(b"oops", status_code=204)


@app.get("/headers-order")
def headers_order():
    r = PlainTextResponse("x", headers={"X-B": "2", "X-A": "1"})
    r.headers.append("X-A", "3")
    r.set_cookie("a", "1")
    r.set_cookie("b", "2")
    return r


@app.get("/empty-header")
def empty_header():
    return Response(b"e", headers={"X-Empty": "", "X-Space": " padded "})
