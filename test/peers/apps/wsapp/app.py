"""A WebSocket endpoint next to plain routes: what a client gets when it tries to upgrade."""
from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.get("/")
def index():
    return {"ws": "/ws"}


@app.websocket("/ws")
async def echo(ws: WebSocket):
    await ws.accept()
    while True:
        text = await ws.receive_text()
        await ws.send_text(f"echo: {text}")
