"""An app that sets its own root_path, as behind a proxy that strips /api."""
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

app = FastAPI(root_path="/api")


@app.get("/items/{item_id}")
def item(item_id: int, request: Request):
    return {"id": item_id, "url": str(request.url), "root_path": request.scope["root_path"], "path": request.scope["path"],
            "self": str(request.url_for("item", item_id=item_id))}


@app.get("/go")
def go(request: Request):
    return RedirectResponse(request.url_for("item", item_id=1))


@app.get("/slash/")
def slash():
    return "ok"
