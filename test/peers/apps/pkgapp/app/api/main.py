from fastapi import APIRouter

from .routes import files, pages, products, proxy

api_router = APIRouter()
api_router.include_router(pages.router)
api_router.include_router(products.router)
api_router.include_router(files.router)
api_router.include_router(proxy.router)
