"""Whole (not streamed) response bodies of tens of MiB: a JSON document and bytes, sent by the app
in one `http.response.body` message, as FastAPI sends every non-streaming response."""
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse

app = FastAPI()


@app.get("/bytes")
def raw_bytes(mib: int = 1):
    return Response(b"x" * (mib * 2**20), media_type="application/octet-stream")


@app.get("/json")
def json_rows(mib: int = 1):
    row = "y" * 1000
    return JSONResponse([row] * (mib * 1024))
