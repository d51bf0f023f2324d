"""Server-rendered pages: Jinja2 templates, StaticFiles, url_for, sessions, redirects after POST."""
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

HERE = Path(__file__).parent
app = FastAPI()
app.add_middleware(SessionMiddleware, secret_key="s3cret-key-for-tests", same_site="lax", max_age=3600)
app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
templates = Jinja2Templates(directory=HERE / "templates")


@app.get("/", name="home")
def home(request: Request):
    return templates.TemplateResponse(request, "index.html", {"user": request.session.get("user"), "visits": request.session.get("visits", 0)})


@app.post("/login")
def login(request: Request, username: Annotated[str, Form()]):
    request.session["user"] = username
    request.session["visits"] = request.session.get("visits", 0) + 1
    return RedirectResponse(request.url_for("home"), status_code=303)


@app.post("/logout")
def logout(request: Request):
    request.session.clear()
    return RedirectResponse("/", status_code=303)


@app.get("/relative")
def relative():
    return RedirectResponse("static/style.css")


@app.get("/absolute")
def absolute():
    return RedirectResponse("https://example.com/elsewhere?x=1", status_code=307)


@app.get("/urls")
def urls(request: Request):
    return {
        "home": str(request.url_for("home")),
        "css": str(request.url_for("static", path="style.css")),
        "base": str(request.base_url),
        "url": str(request.url),
        "root_path": request.scope.get("root_path"),
    }
