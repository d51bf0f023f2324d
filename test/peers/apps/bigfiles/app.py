"""Large downloads (a 64 MiB generated stream, a 20 MiB FileResponse with ranges and conditional
requests) and multipart uploads of several files near the body limit."""
import hashlib
import os
import tempfile

from fastapi import FastAPI, File, UploadFile
from fastapi.responses import FileResponse, StreamingResponse

app = FastAPI()
BIG = os.path.join(tempfile.gettempdir(), "bigfiles-20m.bin")
if not os.path.exists(BIG) or os.path.getsize(BIG) != 20 * 2**20:
    with open(BIG, "wb") as f:
        for i in range(20 * 16):
            f.write(hashlib.sha256(str(i).encode()).digest() * 2048)
    os.utime(BIG, (1_700_000_000, 1_700_000_000))


@app.get("/gen")
def gen(mib: int = 64):
    block = bytes(range(256)) * 4096  # 1 MiB

    def chunks():
        for _ in range(mib):
            yield block
    return StreamingResponse(chunks(), media_type="application/octet-stream", headers={"Content-Length": str(mib * 2**20)})


@app.get("/file")
def file():
    return FileResponse(BIG, filename="big.bin")


@app.post("/upload")
async def upload(files: list[UploadFile] = File(...)):
    out = []
    for f in files:
        data = await f.read()
        out.append({"name": f.filename, "type": f.content_type, "size": len(data), "sha": hashlib.sha256(data).hexdigest()[:12]})
    return out
