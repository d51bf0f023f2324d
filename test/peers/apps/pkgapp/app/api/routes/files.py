import hashlib
import os
import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse

from ...config import Settings, get_settings

router = APIRouter(prefix="/files", tags=["files"])


@router.post("/")
async def upload(file: Annotated[UploadFile, File()], note: Annotated[str, Form()] = "",
                 settings: Settings = Depends(get_settings)):
    os.makedirs(settings.upload_dir, exist_ok=True)
    dest = Path(settings.upload_dir) / Path(file.filename or "upload.bin").name
    with dest.open("wb") as f:
        shutil.copyfileobj(file.file, f)
    data = dest.read_bytes()
    return {"filename": dest.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "content_type": file.content_type, "note": note}


@router.post("/many")
async def upload_many(files: list[UploadFile]):
    return [{"name": f.filename, "size": len(await f.read())} for f in files]


@router.get("/{name}")
async def download(name: str, settings: Settings = Depends(get_settings)):
    path = Path(settings.upload_dir) / Path(name).name
    if not path.exists():
        raise HTTPException(404, "no file")
    return FileResponse(path, filename=f"dl-{name}")


@router.get("/bundled/report")
async def bundled():
    return FileResponse(Path(__file__).resolve().parents[2] / "static" / "report.txt", media_type="text/plain")
