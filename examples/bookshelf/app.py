"""Bookshelf: a FastAPI app as one writes it for uvicorn, deployed unchanged (entrypoint app:app).

Routers with prefixes (routers/), a `yield` dependency (db.get_db), OAuth2 password bearer and
HTTP Basic security, pydantic v2 validators (models.py), a multipart upload, a background task,
Server-Sent Events, middleware (CORS, GZip, timing), an exception handler, lifespan state from env
and secrets, SQLite in /tmp (per instance), the data binding through FP_MONGO_URI (routers/
reviews.py), Jinja2 templates, StaticFiles and url_for, and a WebSocket route (docs/api-invoke.md,
"WebSockets"). test/e2e/example-bookshelf.test.ts deploys it with the CLI.
"""
import asyncio, os, time, json
from contextlib import asynccontextmanager
from fastapi import FastAPI, Request, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, StreamingResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pathlib import Path
import db
from routers import auth, books, admin, reviews
from routers.books import BookNotFound

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

@asynccontextmanager
async def lifespan(app: FastAPI):
    db.init()
    from pymongo import MongoClient
    mongo = MongoClient(os.environ["FP_MONGO_URI"]) if "FP_MONGO_URI" in os.environ else None
    print("bookshelf starting, db at", db.DB_PATH)
    yield {"started_at": time.time(), "title": os.environ.get("SHELF_TITLE", "?"), "has_key": bool(os.environ.get("SIGNING_KEY")), "mongo": mongo}
    if mongo is not None:
        mongo.close()
    print("bookshelf stopping")

app = FastAPI(title="Bookshelf", version="1.0", lifespan=lifespan)

@app.middleware("http")
async def timing(request: Request, call_next):
    t0 = time.perf_counter()
    response = await call_next(request)
    response.headers["X-Process-Time-Ms"] = f"{(time.perf_counter() - t0) * 1000:.2f}"
    return response

app.add_middleware(GZipMiddleware, minimum_size=500)
app.add_middleware(CORSMiddleware, allow_origins=["https://example.com"], allow_methods=["*"], allow_headers=["*"], allow_credentials=True)

@app.exception_handler(BookNotFound)
async def not_found(request: Request, exc: BookNotFound):
    return JSONResponse({"error": "book_not_found", "book_id": exc.book_id}, status_code=404)

app.include_router(auth.router)
app.include_router(books.router)
app.include_router(admin.router)
app.include_router(reviews.router)
app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

@app.get("/", response_class=HTMLResponse)
def index(request: Request):
    import sqlite3
    con = sqlite3.connect(db.DB_PATH); con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("select * from books order by id")]; con.close()
    return templates.TemplateResponse(request, "index.html", {"title": request.state.title, "books": rows})

@app.get("/home")
def home():
    return RedirectResponse("/", status_code=307)

@app.get("/home2")
def home2(request: Request):
    return RedirectResponse(request.url_for("index"), status_code=307)

@app.get("/big")
def big():
    return {"items": ["x" * 50] * 100}

@app.get("/events")
async def sse(n: int = 3):
    async def gen():
        for i in range(n):
            yield f"data: {json.dumps({'tick': i})}\n\n"
            await asyncio.sleep(0.05)
    return StreamingResponse(gen(), media_type="text/event-stream")

@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text("hi")
    await websocket.close()
