"""An unchanged FastAPI app served as a function (the ASGI contract).

    curl 'http://127.0.0.1:8080/fn/fastapi-app/items/42?q=blue'
    curl -X POST 'http://127.0.0.1:8080/fn/fastapi-app/items' -H 'content-type: application/json' \
         -d '{"name": "lamp", "price": 12.5}'
"""
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

app = FastAPI(title="items")

_items: dict[int, dict] = {}


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


@app.get("/")
def index():
    return {"service": "items", "count": len(_items)}


@app.get("/items/{item_id}")
def read_item(item_id: int, q: str | None = None):
    item = _items.get(item_id)
    return {"item_id": item_id, "q": q, "item": item}


@app.post("/items", status_code=201)
def create_item(item: Item):
    item_id = len(_items) + 1
    _items[item_id] = item.model_dump()
    return {"item_id": item_id, **item.model_dump()}


@app.delete("/items/{item_id}", status_code=204)
def delete_item(item_id: int):
    if _items.pop(item_id, None) is None:
        raise HTTPException(status_code=404, detail="no such item")
