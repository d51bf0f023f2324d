"""Serving an ASGI application (e.g. a FastAPI app) in-process, without an HTTP server.

One request = one ASGI `http` scope; the whole body is delivered in one `http.request`
message. A response the app completes before it returns goes back whole (one frame); a body sent
in pieces streams as the app sends it, and a complete response whose app goes on (background
tasks) is sent before they run (streaming.py). Lifespan startup runs at specialize, shutdown at
exit; an app that does not support lifespan is fine.
"""
import asyncio

from . import streaming
from .app_errors import AppRaised, answered
from .errors import BadReturn
from .scope import build_scope


def _scope(wire: dict, app=None) -> dict:
    return build_scope(wire, app)


class Streamed:
    """What `call` returns when the response already went to the host before the app returned
    (a streamed body, or a whole response followed by background tasks): the call's end follows."""
    __slots__ = ("bytes",)

    def __init__(self, size):
        self.bytes = size


async def call(app, wire: dict, state: dict, stream=None, fits=None):
    """Runs one request. Returns the whole response (dict) when the app returned with it complete
    and nothing was sent yet (one `result` frame: the fast path), else Streamed.

    With `stream` (streaming.CallStream): a body sent in pieces (`more_body`) goes out as the app
    sends it, under the stream's window; a complete response whose app has not returned by the next
    turn of the loop (background tasks) goes out then, before they run. `fits` checks a whole
    response before it is sent.
    """
    scope = _scope(wire, app)
    if state:
        scope["state"] = dict(state)
    body = wire.get("body") or b""
    sent_body = False
    complete = asyncio.Event()
    response = {"status": None, "headers": [], "chunks": []}
    # held: a complete response waits for the app to return; early: it is being sent before that;
    # streaming: the head went out, pieces follow; returned: the app has returned.
    phase = {"v": "open", "early": None}
    loop = asyncio.get_running_loop()

    async def receive():
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}
        if stream is None:
            await complete.wait()
        else:
            waits = [loop.create_task(complete.wait()), loop.create_task(stream.disconnected.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
        return {"type": "http.disconnect"}

    def whole():
        return {"status": response["status"], "headers": response["headers"], "body": b"".join(response["chunks"])}

    async def send_early():
        out = whole()
        if fits is not None:
            fits(out)
        await stream.respond(out, False)

    def maybe_early():
        # The app did not return right after completing its response (a background task runs):
        # the response goes out now, the call's end later.
        if phase["v"] == "held":
            phase["v"] = "early"
            phase["early"] = loop.create_task(send_early())

    async def send(message):
        kind = message["type"]
        if kind == "http.response.start":
            response["status"] = message["status"]
            response["headers"] = [[bytes(k).decode("latin-1").lower(), bytes(v).decode("latin-1")]
                                   for k, v in message.get("headers") or []]
        elif kind == "http.response.body":
            data = bytes(message.get("body", b""))
            more = bool(message.get("more_body", False))
            if complete.is_set():
                return  # after the end of the response: ignored, as ASGI servers do
            if stream is not None and stream.cancelled:
                raise streaming.ClientDisconnected("the client closed the connection")
            if phase["v"] == "streaming":
                await stream.chunk(data, more)
            elif more and stream is not None and response["status"] is not None:
                response["chunks"].append(data)
                first = whole()
                response["chunks"] = []
                phase["v"] = "streaming"
                await stream.respond(first, True)
            else:
                response["chunks"].append(data)
            if not more:
                response["complete"] = True
                complete.set()
                if phase["v"] == "open" and stream is not None:
                    phase["v"] = "held"
                    loop.call_soon(maybe_early)

    try:
        await app(scope, receive, send)
    except streaming.ClientDisconnected:
        if stream is None or not stream.cancelled or not stream.sent:
            raise
        # The client left mid-stream and the app let our send's error through: not the app's failure.
    except Exception as err:
        if isinstance(err, MemoryError) or (stream is not None and stream.sent) or phase["early"] is not None:
            raise  # a response already went out: the call ends with the error (streamed responses)
        # The caller gets what the app answered (Starlette's 500), the run record the exception.
        raise AppRaised(err, answered(response)) from err
    finally:
        ended = complete.is_set()
        complete.set()
        if phase["v"] in ("held", "open"):
            phase["v"] = "returned"  # a held response is not sent early any more: it is the result
        if phase["early"] is not None:
            # Sent before the call's end (`end` or `error`), whatever the app did after it.
            await phase["early"]
    if phase["early"] is not None:
        return Streamed(stream.sent)
    if phase["v"] == "streaming" and not ended and not stream.cancelled:  # cancelled: the client left
        raise BadReturn("the ASGI app returned without finishing its response body (more_body was never false)")
    if response["status"] is None:
        raise BadReturn("the ASGI app finished without sending http.response.start")
    if stream is not None and stream.sent:
        return Streamed(stream.sent)
    return whole()


# A lifespan shutdown that has not finished by then is abandoned and the process exits: below the
# host's default grace (2 s) before it kills the process (docs/runtime-protocol.md, "Lifespan").
SHUTDOWN_TIMEOUT_S = 1.5


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

    async def shutdown(self, timeout=SHUTDOWN_TIMEOUT_S):
        if not self.supported or self._task is None or self._task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(asyncio.shield(self._shutdown), timeout)
        except asyncio.TimeoutError:
            pass
