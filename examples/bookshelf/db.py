import sqlite3, os
DB_PATH = os.environ.get("BOOKSHELF_DB", "/tmp/bookshelf.db")

def init():
    con = sqlite3.connect(DB_PATH)
    con.execute("create table if not exists books (id integer primary key, title text not null, author text not null, year integer)")
    con.execute("create table if not exists events (id integer primary key, kind text, detail text)")
    con.commit(); con.close()

def get_db():
    # FastAPI runs a sync `yield` dependency's two halves, and the endpoint, on whichever threadpool
    # threads are free: the connection is used across threads (one request at a time), as in
    # FastAPI's SQL tutorial. Without this, any server (uvicorn too) answers some calls 500.
    con = sqlite3.connect(DB_PATH, check_same_thread=False)
    con.row_factory = sqlite3.Row
    try:
        yield con
        con.commit()
    finally:
        con.close()
