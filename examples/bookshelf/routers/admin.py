import sqlite3
from fastapi import APIRouter, Depends, Request
from db import get_db
from security import admin

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(admin)])

@router.get("/events")
def events(db: sqlite3.Connection = Depends(get_db)):
    return [dict(r) for r in db.execute("select * from events order by id")]

@router.get("/state")
def state(request: Request):
    return {"started": request.state.started_at is not None, "title": request.state.title, "has_key": request.state.has_key}
