"""The probes' app (test/peers/probes.ts): one route per behaviour the tutorial tests cannot see,
served both by the platform (as a function) and by uvicorn, and compared.

Each route is a minimal reproduction of its finding (docs in test/README.md, "Peer conformance").
"""
import asyncio
import time

from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import StreamingResponse

app = FastAPI()


@app.get("/stream")
async def stream():
    """Two chunks 500 ms apart: a streaming server delivers the first at once."""

    async def chunks():
        yield b"first\n"
        await asyncio.sleep(0.5)
        yield b"second\n"

    return StreamingResponse(chunks(), media_type="text/plain")


@app.get("/background")
async def background(tasks: BackgroundTasks):
    """The response is complete before the task runs: a server sends it before the 500 ms task."""
    tasks.add_task(time.sleep, 0.5)
    return {"ok": True}


def _fail():
    raise RuntimeError("the background task failed")


@app.get("/background-fails")
async def background_fails(tasks: BackgroundTasks):
    """The response is sent before the task runs; the task's failure is the server's to log."""
    tasks.add_task(_fail)
    return {"ok": True}


@app.get("/client")
async def client(request: Request):
    """Who the app thinks called it."""
    return {"client": list(request.client) if request.client else None}


@app.get("/forwarded")
async def forwarded(request: Request):
    """What the app makes of a proxy's X-Forwarded-Proto / X-Forwarded-For."""
    return {"scheme": request.url.scheme, "client": request.client.host if request.client else None, "url": str(request.url)}


@app.get("/headers")
async def headers(request: Request):
    """Echoes the request's header names."""
    return {"names": sorted(request.headers.keys())}


@app.api_route("/items", methods=["GET", "HEAD"])
async def items():
    """HEAD should carry the same Content-Length as GET, without the body."""
    return {"items": ["a", "b", "c"]}


@app.get("/boom")
async def boom():
    """An unhandled exception whose text must not reach the client."""
    raise ValueError("db password is hunter2")
