"""What a preset's zygote runs once, after its imports and before it forks anything.

Importing a framework is only part of what an app's cold start pays: pydantic builds its schema
machinery and FastAPI its routing, serialization and lifespan paths (importing more modules and
filling caches) when the first model, app and request come. A zygote does that once, with a
throwaway app of its own, so every runtime it forks inherits it (~120 ms of a FastAPI app's
first import and request here). Only this fixed code runs: no function's code or data, and the
app is dropped before the zygote freezes its objects (docs/adr/0019-zygotes.md).
"""
import asyncio

_FASTAPI_APP = '''
from fastapi import FastAPI
from pydantic import BaseModel


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


app = FastAPI()


@app.get("/items/{item_id}")
def read(item_id: int, q: str | None = None) -> Item:
    return Item(name=q or "x", price=float(item_id))


@app.post("/items")
async def create(item: Item) -> Item:
    return item
'''


def fastapi() -> None:
    """Defines an app with a model, starts it (lifespan) and serves two requests through the
    runtime's own ASGI path (a sync route in the thread pool, an async one with a JSON body)."""
    from . import asgi
    scope = {}
    exec(compile(_FASTAPI_APP, "<zygote warm-up>", "exec"), scope)
    app = scope["app"]

    async def serve():
        life = asgi.Lifespan(app)
        await life.startup()
        for wire in ({"method": "GET", "path": "/items/1", "rawQuery": "q=a", "headers": []},
                     {"method": "POST", "path": "/items", "headers": [["content-type", "application/json"]],
                      "body": b'{"name": "a", "price": 1}'}):
            response = await asgi.call(app, wire, life.state)
            if response["status"] != 200:
                raise RuntimeError(f"the FastAPI warm-up got {response['status']}")
        await life.shutdown()

    asyncio.run(serve())


WARM_UPS = {"fastapi": fastapi}
