"""BackgroundTasks with a slow task: the response must be sent before it runs; a yield dependency's
teardown after the response; a task that raises."""
import asyncio
import time
from typing import Annotated

from fastapi import BackgroundTasks, Depends, FastAPI
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

app = FastAPI()
DONE: list[str] = []


async def slow(tag: str, seconds: float):
    await asyncio.sleep(seconds)
    DONE.append(tag)


def slow_sync(tag: str):
    time.sleep(1.0)
    DONE.append(tag)


def dep():
    yield "d"
    time.sleep(0.5)
    DONE.append("dep-teardown")


@app.post("/reset")
def reset():
    DONE.clear()
    return {}


@app.get("/done")
def done():
    return DONE


@app.post("/send")
async def send(bg: BackgroundTasks, seconds: float = 1.5):
    bg.add_task(slow, "async", seconds)
    bg.add_task(slow_sync, "sync")
    return {"queued": 2}


@app.get("/with-dep")
def with_dep(d: Annotated[str, Depends(dep)], bg: BackgroundTasks):
    bg.add_task(slow_sync, "after-dep")
    return {"d": d}


@app.get("/response-task")
def response_task():
    return JSONResponse({"ok": 1}, background=BackgroundTask(slow, "resp", 1.0))


def boom():
    raise RuntimeError("task failed")


@app.get("/task-fails")
def task_fails(bg: BackgroundTasks):
    bg.add_task(boom)
    return {"ok": True}
