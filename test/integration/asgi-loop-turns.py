"""asgi.call's early send without a loop callback per call (bench/README.md, "One connection, again").

Run by asgi-loop-turns.test.ts: python asgi-loop-turns.py <runtime dir>; prints one JSON object.
On uvloop (as the runtime's async phase runs) a call that scheduled a callback made the loop turn
once more, with a zero-timeout epoll_wait, after its reply; a response completed in the app's last
step must schedule nothing. Responses completed before background work, or by another task of the
app, must still go out before the app returns.
"""
import asyncio
import json
import sys

sys.path.insert(0, sys.argv[1])
from fp_runtime import asgi, streaming  # noqa: E402


class Conn:
    """The runtime's Conn as far as a stream uses it: records what was sent, and when."""

    def __init__(self, log):
        self.log = log

    async def asend(self, loop, message):
        self.log.append(("sent", message["t"]))


def wire(path):
    return {"method": "GET", "path": path, "rawQuery": "", "headers": [], "body": b""}


async def plain(scope, receive, send):
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def background_app(log):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        await asyncio.sleep(0.01)
        log.append(("background", None))
    return app


def other_task_app(log):
    async def app(scope, receive, send):
        async def respond():  # the app's own coroutine waits on this task throughout
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"from a task"})
            await asyncio.sleep(0.01)
            log.append(("background", None))
        await asyncio.get_running_loop().create_task(respond())
    return app


async def main():
    loop = asyncio.get_running_loop()
    scheduled = []
    call_soon = loop.call_soon

    def counting(callback, *args, **kwargs):
        scheduled.append(getattr(callback, "__qualname__", repr(callback)))
        return call_soon(callback, *args, **kwargs)

    out = {}
    log = []
    stream = streaming.open_stream(1, Conn(log), loop)
    loop.call_soon = counting
    try:
        result = await asgi.call(plain, wire("/plain"), {}, stream)
    finally:
        loop.call_soon = call_soon
    out["plain"] = {"status": result["status"], "body": result["body"].decode(), "scheduled": scheduled, "log": log}

    for name, make in (("background", background_app), ("otherTask", other_task_app)):
        log = []
        stream = streaming.open_stream(2, Conn(log), loop)
        result = await asgi.call(make(log), wire("/" + name), {}, stream)
        out[name] = {"streamed": isinstance(result, asgi.Streamed), "log": log}

    # A cancellation thrown into the call reaches the app's own await (the app sees it and re-raises).
    seen = []

    async def waits(scope, receive, send):
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
    task = loop.create_task(asgi.call(waits, wire("/wait"), {}, streaming.open_stream(3, Conn([]), loop)))
    await asyncio.sleep(0)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        seen.append("task cancelled")
    out["cancel"] = seen
    print(json.dumps(out))


try:
    import uvloop
    uvloop.run(main())
except ImportError:  # the platform's environment has it; the property does not depend on it
    asyncio.run(main())
