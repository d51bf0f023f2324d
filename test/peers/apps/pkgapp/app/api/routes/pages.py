from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from ...config import get_settings

templates = Jinja2Templates(directory=Path(__file__).resolve().parents[2] / "templates")
router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse, name="home")
async def home(request: Request):
    return templates.TemplateResponse(request, "index.html", {"title": get_settings().app_name, "products": ["pen", "ink"]})


@router.get("/old-home")
async def old_home(request: Request):
    return RedirectResponse(request.url_for("home"), status_code=301)


@router.get("/links")
async def links(request: Request):
    return {
        "home": str(request.url_for("home")),
        "product": str(request.url_for("get_product", sku="pen")),
        "static": str(request.url_for("static", path="/style.css")),
        "base_url": str(request.base_url),
        "url": str(request.url),
    }
