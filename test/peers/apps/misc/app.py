"""Methods, redirects by the router (trailing slash), cookies, query lists, client and URL facts."""
from typing import Annotated

from fastapi import Cookie, FastAPI, Query, Request, Response
from fastapi.responses import HTMLResponse, ORJSONResponse, RedirectResponse

app = FastAPI()


@app.get("/items/")
def items(q: Annotated[list[str], Query()] = [], n: Annotated[list[int], Query()] = []):
    return {"q": q, "n": n}


@app.api_route("/any", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
async def any_method(request: Request):
    return {"method": request.method, "body": (await request.body()).decode("utf-8", "replace")}


@app.get("/only-get")
def only_get():
    return "get"


@app.head("/head-only")
def head_only(response: Response):
    response.headers["X-Head"] = "1"


@app.get("/cookies/set")
def set_cookies(response: Response):
    response.set_cookie("session", "abc123", httponly=True, samesite="strict", max_age=60)
    response.set_cookie("theme", "dark", path="/", secure=True)
    response.set_cookie("quoted", 'a b;"c"')
    return {"set": 3}


@app.get("/cookies/read")
def read_cookies(session: Annotated[str | None, Cookie()] = None, theme: Annotated[str | None, Cookie()] = None):
    return {"session": session, "theme": theme}


@app.get("/cookies/clear")
def clear(response: Response):
    response.delete_cookie("session")
    return {}


@app.get("/whoami")
def whoami(request: Request):
    return {"url": str(request.url), "base": str(request.base_url), "client_host": request.client.host if request.client else None,
            "scheme": request.url.scheme, "host": request.headers.get("host"), "http_version": request.scope.get("http_version"),
            "server": request.scope.get("server"), "path_params": request.path_params}


@app.get("/html", response_class=HTMLResponse)
def html():
    return "<h1>héllo</h1>"


@app.get("/go")
def go(request: Request):
    return RedirectResponse(request.url_for("items"))


@app.get("/nocontent", status_code=204)
def nocontent():
    return None


@app.get("/notmodified")
def notmodified():
    return Response(status_code=304, headers={"ETag": '"v1"'})


@app.get("/status/{code}")
def status(code: int):
    return Response(content=b"body", status_code=code)
