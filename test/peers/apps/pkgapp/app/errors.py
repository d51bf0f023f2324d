from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class OutOfStock(Exception):
    def __init__(self, sku: str):
        self.sku = sku


def install(app: FastAPI) -> None:
    @app.exception_handler(OutOfStock)
    async def out_of_stock(request: Request, exc: OutOfStock):
        return JSONResponse(status_code=409, content={"error": "out_of_stock", "sku": exc.sku, "path": request.url.path})

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"error": "validation", "count": len(exc.errors())})

    @app.exception_handler(StarletteHTTPException)
    async def http_exc(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            return PlainTextResponse(f"nothing at {request.url.path}", status_code=404)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unhandled(request: Request, exc: Exception):
        return JSONResponse(status_code=500, content={"error": "internal", "type": type(exc).__name__})
