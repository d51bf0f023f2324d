"""Server-Sent Events and streamed downloads from async generators; client disconnects; background tasks."""
import asyncio
import json

from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import StreamingResponse

app = FastAPI()
LOG = "/tmp/streams-events.log"


def note(line: str):
    with open(LOG, "a") as f:
        f.write(line + "\n")


@app.get("/sse")
async def sse(request: Request, n: int = 5):
    async def events():
        try:
            for i in range(n):
                if await request.is_disconnected():
                    note("disconnected")
                    return
                yield f"id: {i}\nevent: tick\ndata: {json.dumps({'i': i})}\n\n"
                await asyncio.sleep(0.05)
            yield "event: done\ndata: bye\n\n"
        except asyncio.CancelledError:
            note("cancelled")
            raise
    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@app.get("/csv")
async def csv():
    async def rows():
        yield "id,name\n"
        for i in range(1000):
            yield f"{i},row-{i}\n"
    return StreamingResponse(rows(), media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="rows.csv"'})


@app.get("/bytes")
def sync_stream():
    def gen():
        for i in range(5):
            yield bytes([i]) * 1000
    return StreamingResponse(gen(), media_type="application/octet-stream")


@app.get("/log")
def read_log():
    try:
        return {"lines": open(LOG).read().splitlines()}
    except FileNotFoundError:
        return {"lines": []}


@app.post("/reset", status_code=204)
def reset():
    open(LOG, "w").close()


@app.post("/jobs", status_code=202)
def job(tasks: BackgroundTasks, name: str = "x"):
    tasks.add_task(note, f"job {name}")
    return {"queued": name}
