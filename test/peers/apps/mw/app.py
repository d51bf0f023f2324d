"""CORS, GZip and TrustedHost middleware around a small JSON API."""
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.responses import PlainTextResponse

app = FastAPI()
app.add_middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "*.localhost"])
app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)
app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://app.example.com"],
    allow_credentials=True,
    allow_methods=["GET", "POST", "PUT"],
    allow_headers=["X-Custom", "Content-Type"],
    expose_headers=["X-Total"],
    max_age=600,
)


@app.get("/small")
def small():
    return {"ok": True}


@app.get("/big")
def big():
    return {"rows": [{"i": i, "text": "lorem ipsum dolor sit amet"} for i in range(300)]}


@app.get("/text")
def text():
    return PlainTextResponse("x" * 2000, headers={"X-Total": "2000"})


@app.put("/items/{item_id}")
def put(item_id: int, body: dict):
    return {"id": item_id, "body": body}
