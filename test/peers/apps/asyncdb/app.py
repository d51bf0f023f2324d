"""Async SQLAlchemy 2 with aiosqlite, as its asyncio docs and FastAPI tutorials write it (apps round 23).

`DATABASE_URL` comes from platform.yaml's env (a file under /tmp); its default in the code, a file in
the working directory, is what validate warns about when the env does not set it: deployed so, a row
one call wrote was missing from 4 of 8 concurrent reads (docs/api-invoke.md, "State lives per instance").
"""
import os
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///./todos.db")
engine = create_async_engine(DATABASE_URL)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class Todo(Base):
    __tablename__ = "todos"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100), unique=True)
    done: Mapped[bool] = mapped_column(default=False)


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


async def get_session():
    async with SessionLocal() as session:
        yield session


class TodoIn(BaseModel):
    title: str = Field(min_length=1, max_length=100)


class TodoPatch(BaseModel):
    title: str | None = None
    done: bool | None = None


def out(row: Todo) -> dict:
    return {"id": row.id, "title": row.title, "done": row.done}


@app.post("/reset")
async def reset(session: AsyncSession = Depends(get_session)):
    await session.execute(delete(Todo))
    await session.commit()
    return {"ok": True}


@app.post("/todos", status_code=201)
async def create(todo: TodoIn, session: AsyncSession = Depends(get_session)):
    row = Todo(title=todo.title)
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise HTTPException(409, f"a todo titled {todo.title!r} exists")
    return out(row)


@app.get("/todos")
async def list_todos(done: bool | None = None, session: AsyncSession = Depends(get_session)):
    query = select(Todo).order_by(Todo.id)
    if done is not None:
        query = query.where(Todo.done == done)
    return [out(r) for r in (await session.scalars(query)).all()]


@app.get("/todos/{todo_id}")
async def get_todo(todo_id: int, session: AsyncSession = Depends(get_session)):
    row = await session.get(Todo, todo_id)
    if row is None:
        raise HTTPException(404, "Todo not found")
    return out(row)


@app.patch("/todos/{todo_id}")
async def patch_todo(todo_id: int, patch: TodoPatch, session: AsyncSession = Depends(get_session)):
    row = await session.get(Todo, todo_id)
    if row is None:
        raise HTTPException(404, "Todo not found")
    for key, value in patch.model_dump(exclude_unset=True).items():
        setattr(row, key, value)
    await session.commit()
    return out(row)


@app.delete("/todos/{todo_id}", status_code=204)
async def delete_todo(todo_id: int, session: AsyncSession = Depends(get_session)):
    row = await session.get(Todo, todo_id)
    if row is None:
        raise HTTPException(404, "Todo not found")
    await session.delete(row)
    await session.commit()
