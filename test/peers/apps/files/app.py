"""Uploads (UploadFile, several files, form fields), downloads (FileResponse with Range), large
JSON bodies and bytes that are not UTF-8."""
import hashlib
import os
from typing import Annotated

from fastapi import Body, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, Response

app = FastAPI()
STORE = "/tmp/files-store"
os.makedirs(STORE, exist_ok=True)
SAMPLE = os.path.join(STORE, "sample.bin")
with open(SAMPLE, "wb") as f:
    f.write(bytes(range(256)) * 1024)  # 256 KiB


@app.post("/upload")
async def upload(file: UploadFile, note: Annotated[str, Form()] = ""):
    data = await file.read()
    with open(os.path.join(STORE, "last"), "wb") as f:
        f.write(data)
    return {"filename": file.filename, "content_type": file.content_type, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "note": note}


@app.post("/uploads")
async def uploads(files: Annotated[list[UploadFile], File()]):
    return [{"filename": f.filename, "size": len(await f.read())} for f in files]


@app.get("/download")
def download():
    return FileResponse(SAMPLE, filename="sample.bin")


@app.get("/download/named")
def download_named():
    return FileResponse(SAMPLE, filename="données €.bin", media_type="application/octet-stream")


@app.get("/last")
def last():
    path = os.path.join(STORE, "last")
    if not os.path.exists(path):
        raise HTTPException(404)
    return FileResponse(path)


@app.post("/json")
def big_json(payload: Annotated[list[dict], Body()]):
    return {"count": len(payload), "first": payload[0] if payload else None, "last": payload[-1] if payload else None}


@app.post("/raw")
async def raw(request: Request):
    body = await request.body()
    return {"len": len(body), "sha256": hashlib.sha256(body).hexdigest(), "ctype": request.headers.get("content-type")}


@app.post("/text")
async def text(request: Request):
    body = await request.body()
    return Response(body.decode("latin-1").upper().encode("latin-1"), media_type="text/plain; charset=latin-1")


@app.post("/form")
async def form(request: Request):
    form = await request.form()
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}
