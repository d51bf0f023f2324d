import logging
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from . import errors
from .api.main import api_router
from .config import get_settings
from .middleware import TimingMiddleware

logging.basicConfig(level=logging.INFO)
log = logging.getLogger("shop")
HERE = Path(__file__).resolve().parent


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = get_settings()
    async with httpx.AsyncClient(base_url=settings.upstream_url) as client:
        log.info("http client opened for %s", settings.upstream_url)
        yield {"http": client}
    log.info("http client closed")


app = FastAPI(title="Shop", lifespan=lifespan)
app.add_middleware(TimingMiddleware)
app.add_middleware(GZipMiddleware, minimum_size=500)
app.add_middleware(CORSMiddleware, allow_origins=get_settings().allowed_origins, allow_methods=["*"],
                   allow_headers=["*"], expose_headers=["X-Process-Time"])
errors.install(app)
app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
app.include_router(api_router)
