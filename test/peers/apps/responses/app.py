"""Response classes: ORJSON, plain text, HTML, redirects (relative, absolute, url_for), custom
status and media types, several Set-Cookie headers with attributes, HTTPException with headers,
custom exception handlers."""
import datetime as dt

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, ORJSONResponse, PlainTextResponse, RedirectResponse

app = FastAPI(default_response_class=ORJSONResponse)


class QuotaError(Exception):
    def __init__(self, left: int):
        self.left = left


@app.exception_handler(QuotaError)
async def quota(request: Request, exc: QuotaError):
    return JSONResponse({"quota": exc.left, "url": str(request.url)}, status_code=429, headers={"Retry-After": "7"})


@app.get("/orjson", name="orjson")
def orjson_route():
    return {"when": dt.datetime(2026, 12, 4, 1, 2, 3), "f": 1.5, "u": "é✓", "n": None, "big": 2**53 + 1}


@app.get("/text", response_class=PlainTextResponse)
def text():
    return "plain é\n"


@app.get("/html", response_class=HTMLResponse)
def html():
    return "<h1>hi</h1>"


@app.get("/redirect/relative")
def rel():
    return RedirectResponse("orjson")


@app.get("/redirect/root")
def root_rel():
    return RedirectResponse("/orjson", status_code=302)


@app.get("/redirect/urlfor")
def urlfor(request: Request):
    return RedirectResponse(request.url_for("orjson"), status_code=303)


@app.get("/redirect/path")
def path_for(request: Request):
    return RedirectResponse(str(request.app.url_path_for("orjson")), status_code=301)


@app.get("/redirect/away", response_class=RedirectResponse, status_code=308)
def away():
    return "https://example.com/x?y=1"


@app.get("/cookies")
def cookies(response: Response):
    response.set_cookie("a", "1")
    response.set_cookie("b", "two words", max_age=60, path="/sub", domain="example.com", secure=True, httponly=True, samesite="strict")
    response.set_cookie("c", "3", expires=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc), samesite="none", secure=True)
    response.delete_cookie("old", path="/")
    response.headers.append("X-Dup", "1")
    response.headers.append("X-Dup", "2")
    return {"set": 3}


@app.get("/custom")
def custom():
    return Response(b"\x00\x01binary", status_code=203, media_type="application/x-thing", headers={"X-A": "a", "Cache-Control": "no-store"})


@app.get("/http-exc")
def http_exc():
    raise HTTPException(status_code=401, detail={"why": "expired", "n": [1, 2]}, headers={"WWW-Authenticate": "Bearer", "X-Extra": "y"})


@app.get("/quota")
def quota_route():
    raise QuotaError(3)


@app.get("/created", status_code=201)
def created(response: Response):
    response.headers["Location"] = "/orjson"
    return {"created": True}


@app.get("/empty", status_code=204)
def empty():
    return None


@app.get("/json-none")
def json_none():
    return JSONResponse(None)
