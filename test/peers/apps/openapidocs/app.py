"""OpenAPI documents and docs pages: custom URLs, explicit servers, root_path_in_servers off on a
second app, the Swagger OAuth2 redirect page, tags and a webhook."""
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI(title="docs demo", version="1.2.3", docs_url="/api-docs", redoc_url="/api-redoc", openapi_url="/spec/openapi.json",
              servers=[{"url": "https://api.example.com", "description": "prod"}], swagger_ui_oauth2_redirect_url="/api-docs/oauth2-redirect",
              openapi_tags=[{"name": "items", "description": "Items"}])


class Item(BaseModel):
    name: str
    price: float = 0


@app.post("/items", tags=["items"], response_model=Item)
def create(item: Item):
    return item


@app.webhooks.post("new-item")
def new_item(body: Item):
    pass


plain = FastAPI(root_path_in_servers=False, title="plain")


@plain.get("/ping")
def ping():
    return "pong"


app.mount("/plain", plain)
