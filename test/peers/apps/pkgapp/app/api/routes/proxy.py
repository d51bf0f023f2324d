from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, HTTPException

from ...deps import get_client

router = APIRouter(prefix="/upstream", tags=["upstream"])


@router.get("/echo")
async def echo(client: Annotated[httpx.AsyncClient, Depends(get_client)], q: str = "x"):
    try:
        r = await client.get("/echo", params={"q": q}, timeout=3)
    except httpx.HTTPError as e:
        raise HTTPException(502, f"upstream: {type(e).__name__}")
    return {"status": r.status_code, "body": r.text}
