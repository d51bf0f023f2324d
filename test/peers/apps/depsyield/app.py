"""Depends with yield: teardown after the response, exceptions raised in and after the handler,
a dependency that turns an error into an HTTPException, nested dependencies, caching, and
dependency_overrides set by the app itself at import."""
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request

app = FastAPI()
EVENTS: list[str] = []


class Db:
    def __init__(self):
        self.open = True


async def get_db():
    db = Db()
    EVENTS.append("open")
    try:
        yield db
    except KeyError as e:
        EVENTS.append(f"rollback {e}")
        raise HTTPException(status_code=409, detail=f"conflict: {e}", headers={"X-Rolled-Back": "1"})
    finally:
        db.open = False
        EVENTS.append("close")


def sync_resource():
    EVENTS.append("sync-open")
    yield "res"
    EVENTS.append("sync-close")


def counter(request: Request):
    request.state.calls = getattr(request.state, "calls", 0) + 1
    return request.state.calls


def real_settings():
    return {"env": "real"}


def fake_settings():
    return {"env": "override"}


app.dependency_overrides[real_settings] = fake_settings


@app.post("/reset")
def reset():
    EVENTS.clear()
    return {"ok": True}


@app.get("/events")
def events():
    return EVENTS


@app.get("/ok")
async def ok(db: Annotated[Db, Depends(get_db)], r: Annotated[str, Depends(sync_resource)]):
    return {"open": db.open, "r": r}


@app.get("/conflict")
async def conflict(db: Annotated[Db, Depends(get_db)]):
    raise KeyError("dup")


@app.get("/crash")
async def crash(db: Annotated[Db, Depends(get_db)]):
    raise RuntimeError("handler crashed with yield dep")


@app.get("/http-error")
async def http_error(db: Annotated[Db, Depends(get_db)]):
    raise HTTPException(status_code=403, detail="nope", headers={"WWW-Authenticate": 'Bearer realm="x"'})


def teardown_fails():
    yield 1
    raise ValueError("teardown failed")


@app.get("/teardown-fails")
def teardown_route(v: Annotated[int, Depends(teardown_fails)]):
    return {"v": v}


@app.get("/cached")
def cached(a: Annotated[int, Depends(counter)], b: Annotated[int, Depends(counter)],
           c: Annotated[int, Depends(counter, use_cache=False)]):
    return [a, b, c]


@app.get("/settings")
def settings(s: Annotated[dict, Depends(real_settings)]):
    return s


def needs_header(request: Request):
    if "x-token" not in request.headers:
        raise HTTPException(status_code=401, detail="token missing", headers={"WWW-Authenticate": "Token"})
    return request.headers["x-token"]


@app.get("/guarded", dependencies=[Depends(needs_header)])
def guarded():
    return {"in": True}
