import sqlite3, os
DB_PATH = os.environ.get("BOOKSHELF_DB", "/tmp/bookshelf.db")

def init():
    con = sqlite3.connect(DB_PATH)
    con.execute("create table if not exists books (id integer primary key, title text not null, author text not null, year integer)")
    con.execute("create table if not exists events (id integer primary key, kind text, detail text)")
    con.commit(); con.close()

def get_db():
    con = sqlite3.connect(DB_PATH)
    con.row_factory = sqlite3.Row
    try:
        yield con
        con.commit()
    finally:
        con.close()
