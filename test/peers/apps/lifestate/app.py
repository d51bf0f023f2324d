"""Lifespan state: startup that builds a resource, state yielded to every request, app.state,
a request counter, and a dependency that reads the lifespan's state."""
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.started = "yes"
    yield {"pool": {"name": "pool-1", "size": 4}, "hits": {"n": 0}}


app = FastAPI(lifespan=lifespan)


def pool(request: Request):
    return request.state.pool


@app.get("/state")
def state(request: Request, p: Annotated[dict, Depends(pool)]):
    request.state.hits["n"] += 1
    return {"pool": p, "started": request.app.state.started, "scope_state_keys": sorted(request.scope["state"].keys())}


@app.post("/reset")
def reset(request: Request):
    request.state.hits["n"] = 0
    return {}


@app.get("/hits")
def hits(request: Request):
    return request.state.hits
