"""The baseline: the benchmark's trivial handler served by FastAPI under uvicorn.

Started by bench/servers.ts as
  python -m uvicorn fastapi_app:app --app-dir bench/baseline --loop uvloop --http httptools
         --no-access-log --log-level warning --workers W
The endpoint is `async def` (FastAPI runs a plain `def` endpoint on a thread pool, which is
slower) and returns a JSONResponse directly (skipping response-model validation): the
fastest way FastAPI serves this handler. Like the gateway, it hands the handler an event
built from the request (method, path, query, headers, body).
"""
import os
import sys

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "hello"))

from main import handler  # noqa: E402  (bench/fixtures/hello/main.py, the gateway serves the same file)

app = FastAPI()


@app.api_route("/fn/hello/{rest:path}", methods=["GET", "POST"])
async def hello(request: Request, rest: str = "") -> JSONResponse:
    event = {
        "method": request.method,
        "path": request.url.path,
        "rawQuery": request.url.query,
        "headers": request.headers.items(),
        "body": await request.body(),
    }
    return JSONResponse(handler(event, None))
