import sqlite3
from fastapi import APIRouter, Depends, HTTPException, BackgroundTasks, UploadFile, Form, File, Request
from fastapi.responses import RedirectResponse
from db import get_db, DB_PATH
from models import BookIn, Book
from security import current_user

router = APIRouter(prefix="/books", tags=["books"])

class BookNotFound(Exception):
    def __init__(self, book_id: int):
        self.book_id = book_id

def audit(kind: str, detail: str):
    con = sqlite3.connect(DB_PATH)
    con.execute("insert into events (kind, detail) values (?, ?)", (kind, detail))
    con.commit(); con.close()

@router.get("/", response_model=list[Book])
def list_books(db: sqlite3.Connection = Depends(get_db)):
    return [dict(r) for r in db.execute("select * from books order by id")]

@router.post("/", response_model=Book, status_code=201)
def create_book(book: BookIn, bg: BackgroundTasks, user: str = Depends(current_user), db: sqlite3.Connection = Depends(get_db)):
    cur = db.execute("insert into books (title, author, year) values (?, ?, ?)", (book.title, book.author, book.year))
    db.commit()  # before the background task opens its own connection (the dependency commits after it)
    bg.add_task(audit, "created", f"{user}:{cur.lastrowid}")
    return {"id": cur.lastrowid, **book.model_dump()}

@router.get("/{book_id}", response_model=Book)
def get_book(book_id: int, db: sqlite3.Connection = Depends(get_db)):
    row = db.execute("select * from books where id = ?", (book_id,)).fetchone()
    if row is None:
        raise BookNotFound(book_id)
    return dict(row)

@router.get("/{book_id}/goto")
def goto(book_id: int, request: Request):
    return RedirectResponse(request.url_for("get_book", book_id=book_id), status_code=303)

@router.post("/{book_id}/cover")
async def upload_cover(book_id: int, file: UploadFile = File(...), caption: str = Form(""), user: str = Depends(current_user)):
    data = await file.read()
    return {"book_id": book_id, "filename": file.filename, "size": len(data), "content_type": file.content_type, "caption": caption}
