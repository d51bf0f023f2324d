"""Notes: SQLAlchemy 2 (sync engine) on a SQLite file in /tmp, tables created by the lifespan."""
from contextlib import asynccontextmanager
from typing import Annotated, Optional

from fastapi import Depends, FastAPI, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

engine = create_engine("sqlite:////tmp/sqlnotes.db", connect_args={"check_same_thread": False})


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[Optional[str]]
    tag: Mapped[Optional[str]]


class NoteIn(BaseModel):
    title: str
    body: Optional[str] = None
    tag: Optional[str] = None


class NoteOut(NoteIn):
    model_config = ConfigDict(from_attributes=True)
    id: int


class NotePatch(BaseModel):
    title: Optional[str] = None
    body: Optional[str] = None
    tag: Optional[str] = None


@asynccontextmanager
async def lifespan(app: FastAPI):
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield {"started": True}
    engine.dispose()


app = FastAPI(title="notes", lifespan=lifespan)


def get_db():
    with Session(engine) as session:
        yield session


DB = Annotated[Session, Depends(get_db)]


@app.post("/notes", response_model=NoteOut, status_code=status.HTTP_201_CREATED)
def create(note: NoteIn, db: DB):
    row = Note(**note.model_dump())
    db.add(row)
    db.commit()
    db.refresh(row)
    return row


@app.get("/notes", response_model=list[NoteOut], response_model_exclude_none=True)
def list_notes(db: DB, tag: Annotated[list[str] | None, Query()] = None, limit: int = 10):
    stmt = select(Note).order_by(Note.id).limit(limit)
    if tag:
        stmt = stmt.where(Note.tag.in_(tag))
    return db.scalars(stmt).all()


@app.get("/notes/{note_id}", response_model=NoteOut)
def get_note(note_id: int, db: DB):
    row = db.get(Note, note_id)
    if row is None:
        raise HTTPException(status_code=404, detail=f"note {note_id} not found")
    return row


@app.patch("/notes/{note_id}", response_model=NotePatch, response_model_exclude_unset=True)
def patch_note(note_id: int, patch: NotePatch, db: DB):
    row = db.get(Note, note_id)
    if row is None:
        raise HTTPException(status_code=404, detail="not found")
    for k, v in patch.model_dump(exclude_unset=True).items():
        setattr(row, k, v)
    db.commit()
    return patch


@app.delete("/notes/{note_id}", status_code=204)
def delete_note(note_id: int, db: DB):
    row = db.get(Note, note_id)
    if row is not None:
        db.delete(row)
        db.commit()


@app.post("/reset", status_code=204)
def reset():
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)


@app.get("/state")
def state(request: __import__("fastapi").Request):
    return {"started": request.state.started}
