"""Path parameters (encoded slashes, :path, enums, ints, unicode), query arrays, and
redirect_slashes in both directions, on the app and on a router."""
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request

app = FastAPI()


class Color(str, Enum):
    red = "red"
    blue = "blue"


def seen(request: Request, **kw):
    return {"path": request.url.path, "raw": request.scope["raw_path"].decode("latin-1"), "root": request.scope["root_path"],
            "url": str(request.url), **kw}


@app.get("/files/{name}")
def one_segment(name: str, request: Request):
    return seen(request, name=name)


@app.get("/tree/{p:path}")
def tree(p: str, request: Request):
    return seen(request, p=p)


@app.get("/color/{c}")
def color(c: Color, request: Request):
    return seen(request, c=c)


@app.get("/num/{n}")
def num(n: int, request: Request):
    return seen(request, n=n)


@app.get("/q")
def q(request: Request, ids: Annotated[list[int], Query()] = [], tag: Annotated[list[str] | None, Query()] = None, flag: bool = False):
    return seen(request, ids=ids, tag=tag, flag=flag)


@app.get("/slash/")
def with_slash(request: Request):
    return seen(request)


@app.get("/noslash")
def without_slash(request: Request):
    return seen(request)


r = APIRouter(prefix="/r")


@r.get("/")
def r_root(request: Request):
    return seen(request)


@r.get("/leaf/")
def r_leaf(request: Request):
    return seen(request)


app.include_router(r)

strict = FastAPI(redirect_slashes=False)


@strict.get("/x/")
def strict_x(request: Request):
    return seen(request)


app.mount("/strict", strict)


@app.get("/é/{v}")
def unicode_path(v: str, request: Request):
    return seen(request, v=v)
