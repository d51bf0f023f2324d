"""APIRouter with a prefix and router-level dependencies, a RequestValidationError handler with its
own body, a Response subclass with its own media type, BackgroundTasks taken by a dependency,
`url_for` across a mounted sub-app, and `Annotated` Form and File fields in one request."""
import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, File, Form, Header, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

app = FastAPI()
EVENTS: list[str] = []


class CsvResponse(Response):
    media_type = "text/csv"

    def render(self, content) -> bytes:
        return "\n".join(",".join(str(c) for c in row) for row in content).encode() + b"\n"


class ProblemJSON(JSONResponse):
    media_type = "application/problem+json"


@app.exception_handler(RequestValidationError)
async def validation_handler(request: Request, exc: RequestValidationError):
    errors = [{"loc": list(e["loc"]), "type": e["type"]} for e in exc.errors()]
    return ProblemJSON({"title": "invalid request", "path": request.url.path, "errors": errors}, status_code=422)


def need_key(x_key: Annotated[str, Header()]):
    if x_key != "k1":
        raise HTTPException(403, "bad key", headers={"X-Reason": "key"})


def audit(request: Request, tasks: BackgroundTasks):
    tasks.add_task(EVENTS.append, f"audit {request.method} {request.url.path}")


router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(need_key), Depends(audit)])


@router.get("/items/{item_id}")
def admin_item(item_id: int, tasks: BackgroundTasks):
    tasks.add_task(EVENTS.append, f"item {item_id}")
    return {"item_id": item_id}


@router.get("/report.csv", response_class=CsvResponse)
def report():
    return CsvResponse([["id", "name"], [1, "a"], [2, "b,c"]])


app.include_router(router)

sub = FastAPI()


@sub.get("/hello/{name}", name="sub_hello")
def sub_hello(name: str, request: Request):
    # The outer router resolves names (scope["router"] is the first one): the mount's name, then the route's.
    return {"name": name, "self": str(request.url_for("sub:sub_hello", name=name))}


app.mount("/sub", sub, name="sub")


@app.get("/events")
def events():
    return EVENTS


@app.post("/events/reset")
def reset():
    EVENTS.clear()
    return {"ok": True}


@app.get("/links")
def links(request: Request):
    return {"item": str(request.url_for("admin_item", item_id=7)),
            "sub": str(request.url_for("sub", path="/hello/x")),
            "path": request.app.url_path_for("admin_item", item_id=7)}


@app.get("/typed")
def typed(n: int, flag: bool = False):
    return {"n": n, "flag": flag}


@app.post("/profile")
async def profile(name: Annotated[str, Form(min_length=2)], tags: Annotated[list[str], Form()],
                  avatar: Annotated[UploadFile, File()], notes: Annotated[bytes | None, File()] = None):
    data = await avatar.read()
    return {"name": name, "tags": tags, "avatar": [avatar.filename, avatar.content_type, len(data), hashlib.sha256(data).hexdigest()[:12]],
            "notes": None if notes is None else notes.decode()}


@app.post("/json-body")
def json_body(payload: dict):
    return {"keys": sorted(payload), "raw": json.dumps(payload, sort_keys=True)}
