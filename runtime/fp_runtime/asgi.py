"""Serving an ASGI application (e.g. a FastAPI app) in-process, without an HTTP server.

One request = one ASGI `http` scope; the whole body is delivered in one `http.request`
message and the response is collected whole. Lifespan startup runs at specialize, shutdown at
exit; an app that does not support lifespan is fine.
"""
import asyncio

from .app_errors import AppRaised, answered
from .errors import BadReturn
from .scope import build_scope


def _scope(wire: dict, app=None) -> dict:
    return build_scope(wire, app)


async def call(app, wire: dict, state: dict) -> dict:
    scope = _scope(wire, app)
    if state:
        scope["state"] = dict(state)
    body = wire.get("body") or b""
    sent_body = False
    done = asyncio.Event()
    response = {"status": None, "headers": [], "chunks": []}

    async def receive():
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        kind = message["type"]
        if kind == "http.response.start":
            response["status"] = message["status"]
            response["headers"] = [[bytes(k).decode("latin-1").lower(), bytes(v).decode("latin-1")]
                                   for k, v in message.get("headers") or []]
        elif kind == "http.response.body":
            response["chunks"].append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                response["complete"] = True
                done.set()

    try:
        await app(scope, receive, send)
    except Exception as err:
        if isinstance(err, MemoryError):
            raise
        # The caller gets what the app answered (Starlette's 500), the run record the exception.
        raise AppRaised(err, answered(response)) from err
    finally:
        done.set()
    if response["status"] is None:
        raise BadReturn("the ASGI app finished without sending http.response.start")
    return {"status": response["status"], "headers": response["headers"], "body": b"".join(response["chunks"])}


class Lifespan:
    """Drives the ASGI lifespan protocol: startup at specialize, shutdown at exit."""

    def __init__(self, app):
        self.app = app
        self.state = {}
        self.supported = False
        self._inbox = None
        self._startup = None
        self._shutdown = None
        self._task = None

    async def startup(self):
        self._inbox = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self._startup = loop.create_future()
        self._shutdown = loop.create_future()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}

        async def receive():
            return await self._inbox.get()

        async def send(message):
            kind = message["type"]
            fut = self._startup if kind.startswith("lifespan.startup") else self._shutdown
            if not fut.done():
                fut.set_result(message)

        async def run():
            try:
                await self.app(scope, receive, send)
            except BaseException:  # an app without lifespan support raises here: that is allowed
                if not self._startup.done():
                    self._startup.set_result(None)
            finally:
                for fut in (self._startup, self._shutdown):
                    if not fut.done():
                        fut.set_result(None)

        self._task = loop.create_task(run())
        await self._inbox.put({"type": "lifespan.startup"})
        message = await self._startup
        if message is None:
            return
        self.supported = True
        if message["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"lifespan startup failed: {message.get('message', '')}")

    async def shutdown(self, timeout=2.0):
        if not self.supported or self._task is None or self._task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(asyncio.shield(self._shutdown), timeout)
        except asyncio.TimeoutError:
            pass
