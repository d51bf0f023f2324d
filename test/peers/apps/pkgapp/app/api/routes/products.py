import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from ...deps import SessionDep, verify_key
from ...errors import OutOfStock

log = logging.getLogger("shop.products")
router = APIRouter(prefix="/products", tags=["products"])
STOCK = {"pen": 3, "ink": 0}


class Order(BaseModel):
    sku: str
    qty: int = Field(gt=0, le=10)
    email: str | None = None


def send_receipt(email: str, sku: str):
    log.info("receipt sent to %s for %s", email, sku)
    print(f"receipt {email} {sku}", flush=True)


@router.get("/{sku}")
async def get_product(sku: str, session: SessionDep, verbose: Annotated[bool, Query()] = False):
    if sku not in STOCK:
        raise HTTPException(status_code=404, detail="no such product")
    out = {"sku": sku, "stock": STOCK[sku]}
    if verbose:
        out["session_closed"] = session.closed
    return out


@router.post("/orders", status_code=201, dependencies=[Depends(verify_key)])
async def order(o: Order, session: SessionDep, tasks: BackgroundTasks):
    if STOCK.get(o.sku, 0) < o.qty:
        raise OutOfStock(o.sku)
    if o.email:
        tasks.add_task(send_receipt, o.email, o.sku)
    return {"ok": True, "sku": o.sku}


@router.get("/boom/{kind}")
async def boom(kind: str, session: SessionDep):
    if kind == "value":
        raise ValueError("bad value")
    if kind == "zero":
        return 1 // 0
    return {"kind": kind}
