"""{{name}}: a FastAPI app served as a function at /fn/{{name}}/ (the ASGI contract).

It runs unchanged: routes are relative to the function's URL (root_path is /fn/{{name}}).

Try it:  fastapi-platform invoke {{name}} --path /greet --file payload.json
"""
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI(title="{{name}}")


class Greeting(BaseModel):
    name: str = "world"


@app.get("/")
def index():
    return {"service": "{{name}}"}


@app.post("/greet")
def greet(greeting: Greeting):
    return {"message": f"hello, {greeting.name}"}
