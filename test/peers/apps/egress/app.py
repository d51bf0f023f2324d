"""Calls another HTTP service from a handler with httpx (async and sync clients)."""
import os

import httpx
from fastapi import FastAPI, HTTPException

UPSTREAM = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:18799")
app = FastAPI()


@app.get("/proxy/{path:path}")
async def proxy(path: str, q: str | None = None):
    async with httpx.AsyncClient(timeout=5) as client:
        try:
            r = await client.get(f"{UPSTREAM}/{path}", params={"q": q} if q else None)
        except httpx.HTTPError as e:
            raise HTTPException(502, f"upstream failed: {type(e).__name__}")
    return {"status": r.status_code, "json": r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text}


@app.get("/sync")
def sync_call():
    with httpx.Client(timeout=5) as client:
        r = client.get(f"{UPSTREAM}/hello")
    return {"status": r.status_code, "body": r.text}


@app.get("/unreachable")
async def unreachable():
    async with httpx.AsyncClient(timeout=2) as client:
        try:
            await client.get("http://127.0.0.1:9/")
        except httpx.ConnectError as e:
            return {"error": "ConnectError"}
    return {"error": None}
