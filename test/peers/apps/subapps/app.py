"""Mounted sub-applications: FastAPI apps (one that declares a root_path of its own), a Starlette
app, StaticFiles, URLs generated across mounts, and each sub-app's own OpenAPI document."""
import os
import tempfile

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

STATIC = os.path.join(tempfile.gettempdir(), "subapps-static")
os.makedirs(STATIC, exist_ok=True)
with open(os.path.join(STATIC, "hello.txt"), "w") as f:
    f.write("hello static\n")

app = FastAPI(title="main")
v1 = FastAPI(title="v1")
v2 = FastAPI(title="v2", root_path="/v2")


def urls(request: Request):
    return {"root": request.scope["root_path"], "path": request.url.path, "url": str(request.url),
            "main": str(request.url_for("main_home")) if "router" in request.scope else None}


@app.get("/", name="main_home")
def home(request: Request):
    return {"root": request.scope["root_path"], "v1": str(request.url_for("v1", path="/items/1")), "static": str(request.url_for("static", path="hello.txt"))}


@v1.get("/items/{i}", name="v1_item")
def v1_item(i: int, request: Request):
    return {"i": i, "root": request.scope["root_path"], "path": request.url.path, "self": str(request.url_for("v1_item", i=i))}


@v2.get("/items/{i}", name="v2_item")
def v2_item(i: int, request: Request):
    return {"i": i, "root": request.scope["root_path"], "path": request.url.path, "self": str(request.url_for("v2_item", i=i))}


async def star(request):
    return PlainTextResponse(f"starlette {request.scope['root_path']} {request.url.path}")


app.mount("/v1", v1, name="v1")
app.mount("/v2", v2, name="v2")
app.mount("/star", Starlette(routes=[Route("/hi", star)]), name="star")
app.mount("/static", StaticFiles(directory=STATIC), name="static")
