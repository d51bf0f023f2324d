"""APIRouters with prefixes, tags and dependencies, custom exception handlers, a custom JSON
response class, and a sub-application mounted with app.mount."""
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class PrettyJSON(JSONResponse):
    media_type = "application/vnd.demo+json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")


class TeapotError(Exception):
    def __init__(self, what: str):
        self.what = what


async def api_key(x_api_key: Annotated[str | None, Header()] = None):
    if x_api_key != "k1":
        raise HTTPException(status_code=401, detail="bad key", headers={"X-Reason": "api-key"})


app = FastAPI(default_response_class=PrettyJSON, title="routers")


@app.exception_handler(TeapotError)
async def teapot(request: Request, exc: TeapotError):
    return JSONResponse(status_code=418, content={"error": f"I'm a teapot: {exc.what}", "path": request.url.path})


@app.exception_handler(RequestValidationError)
async def validation(request: Request, exc: RequestValidationError):
    return PlainTextResponse(f"invalid: {len(exc.errors())} error(s) at {[e['loc'] for e in exc.errors()]}", status_code=400)


@app.exception_handler(StarletteHTTPException)
async def http_exc(request: Request, exc: StarletteHTTPException):
    return PrettyJSON({"status": exc.status_code, "detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


users = APIRouter(prefix="/users", tags=["users"], dependencies=[Depends(api_key)], responses={404: {"description": "Not found"}})
items = APIRouter(prefix="/items", tags=["items"])


@users.get("/")
def list_users():
    return [{"name": "ünï", "id": 1}]


@users.get("/{uid}")
def get_user(uid: int):
    if uid != 1:
        raise HTTPException(404, "no such user")
    return {"name": "ünï", "id": 1}


@items.get("/{item_id}")
def get_item(item_id: int, q: list[int] = __import__("fastapi").Query(default=[])):
    if item_id == 418:
        raise TeapotError("brewing")
    return {"item_id": item_id, "q": q}


@items.post("/", status_code=201)
def add_item(item: dict[str, int]):
    return item


v1 = APIRouter(prefix="/v1")
v1.include_router(users)
v1.include_router(items)
app.include_router(v1)

sub = FastAPI(title="admin")


@sub.get("/stats")
def stats(request: Request):
    return {"root_path": request.scope["root_path"], "path": request.url.path, "url": str(request.url_for("stats"))}


app.mount("/admin", sub)


@app.get("/boom")
def boom():
    raise RuntimeError("kaboom")
