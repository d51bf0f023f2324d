"""Serving an ASGI application (e.g. a FastAPI app) in-process, without an HTTP server.

One request = one ASGI `http` scope; the whole body is delivered in one `http.request`
message. A response the app completes before it returns goes back whole (one frame); a body sent
in pieces streams as the app sends it, and a complete response whose app goes on (background
tasks) is sent before they run (streaming.py). Lifespan startup runs at specialize, shutdown at
exit; an app that does not support lifespan is fine.
"""
import asyncio
import types

from . import streaming
from .app_errors import AppRaised
from .errors import BadReturn, is_out_of_memory
from .frames import MAX_FRAME_BYTES
from .scope import build_scope

# A whole response with a body past this goes out as a stream (its head, then pieces) instead of
# one `result` frame it would not fit: FastAPI sends every non-streaming body in one message, and
# uvicorn sends any size. Below responses.MAX_RESPONSE_BYTES, with room for the headers.
WHOLE_BODY_MAX = MAX_FRAME_BYTES - 2 * 1024 * 1024


class Streamed:
    """What `call` returns when the response already went to the host before the app returned
    (a streamed body, or a whole response followed by background tasks): the call's end follows."""
    __slots__ = ("bytes",)

    def __init__(self, size):
        self.bytes = size


# A head the app sent with no body message yet goes alone after this many turns of the loop (ADR
# 0150): at once for a stream that waits (an SSE endpoint's first event), and not split from a body
# that comes a few turns later: Starlette's BaseHTTPMiddleware sends its head, then reads the
# inner app's body from a memory stream (measured: with 1 turn most of its answers left in two
# writes, head then body; with 4, in one, as before).
HEAD_TURNS = 4

# Body bytes sent in pieces after the client left that may be dropped without a word (_dropped);
# the next piece past them raises ClientDisconnected. The answer's end is dropped whatever its size.
DROPPED_MAX = 8 * 1024 * 1024

# Where a call's response is: OPEN (nothing complete yet), HELD (complete, waiting for the app to
# return: the fast path), EARLY (complete and being sent before the app returns: background
# tasks), STREAMING (the head went out, pieces follow), RETURNED (the app returned first).
OPEN, HELD, EARLY, STREAMING, RETURNED = range(5)


class _Exchange:
    """One call's `receive` and `send`, and what the app sent. One object per call, no event or
    task of its own: a `receive` that must wait (the request was delivered) waits on a future made
    only then, woken when the response is complete, the app returned or the client left."""
    __slots__ = ("body", "stream", "fits", "loop", "status", "headers", "latin1", "chunks", "complete", "phase",
                 "early", "head", "head_due", "stepping", "dropped", "told", "_waiters")

    def __init__(self, body, stream, fits, loop):
        self.body = body  # None once delivered
        self.stream = stream
        self.fits = fits
        self.loop = loop
        self.status = None
        self.headers = []
        self.latin1 = False  # a header value has a byte past ASCII: the gateway writes it back as that byte
        self.chunks = []
        self.complete = False  # the last body message was sent, or the app returned
        self.phase = OPEN
        self.early = None  # the task sending a complete response before the app returned
        self.head = None  # the task sending the head alone, before any body message (_maybe_head)
        self.head_due = False  # a head is waiting for the loop's turns (_head_after)
        self.stepping = False  # the app's coroutine is running a step (_drive): it is the one calling send
        self.dropped = 0  # body bytes the app sent in pieces after its client left (_dropped)
        self.told = False  # the app's `receive` said http.disconnect (the client left)
        self._waiters = None
        if stream is not None:
            stream.on_cancel = self._client_left

    async def receive(self):
        body = self.body
        if body is not None:
            self.body = None
            return {"type": "http.request", "body": body, "more_body": False}
        stream = self.stream
        if not self.complete and (stream is None or not stream.cancelled):
            # Each waiter has its own future: a cancelled receive (anyio cancels its
            # disconnect listener) must not cancel the others'.
            waiter = self.loop.create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                self._waiters.remove(waiter)
        if stream is not None and stream.cancelled:
            self.told = True
        return {"type": "http.disconnect"}

    def _client_left(self) -> None:
        # A `receive` waiting now returns http.disconnect: the app listens for it (Starlette's
        # StreamingResponse and FileResponse do) and stops its stream by itself (_dropped).
        if self._waiters:
            self.told = True
        self.wake()

    def wake(self) -> None:
        for waiter in self._waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def whole(self) -> dict:
        chunks = self.chunks
        out = {"status": self.status, "headers": self.headers,
               "body": chunks[0] if len(chunks) == 1 else b"".join(chunks)}
        if self.latin1:
            out["latin1"] = True
        return out

    def answered(self):
        """The response the app sent in full (start and last body message), else None."""
        return self.whole() if self.status is not None and self.complete else None

    async def send(self, message):
        kind = message["type"]
        if kind == "http.response.start":
            if self.status is not None:
                # A second start (an error handler after the app's own start) replaced the first:
                # the client got the later status and headers. uvicorn raises this in the app and
                # keeps the first (differential round 3).
                raise RuntimeError("Expected ASGI message 'http.response.body', but got 'http.response.start'.")
            self.status = message["status"]
            # ASGI header values are bytes (Starlette encodes text as Latin-1: "café" is b"caf\xe9").
            # One char per byte; `latin1` tells the gateway to write them back as those bytes, as
            # uvicorn does, not as UTF-8 text (docs/api-invoke.md, "Return value → response").
            # One pass, a pair (tuple: the same msgpack array) per header; bytes are not copied.
            headers = []
            ascii_only = True
            for k, v in message.get("headers") or ():
                if type(v) is not bytes:
                    v = bytes(v)  # a bytearray or memoryview: ASGI allows any bytes-like value
                if ascii_only and not v.isascii():
                    ascii_only = False
                headers.append((bytes(k).decode("latin-1").lower(), v.decode("latin-1")))
            self.headers = headers
            self.latin1 = not ascii_only
            if self.stream is not None and not self.stepping:
                # Sent by another task of the app (Starlette's StreamingResponse under ASGI 2.3): the
                # loop's next turn sends the head if no body message came by then.
                self._head_after(HEAD_TURNS)
        elif kind == "http.response.body":
            data = bytes(message.get("body", b""))
            more = bool(message.get("more_body", False))
            if self.complete:
                return  # after the end of the response: ignored, as ASGI servers do
            stream = self.stream
            if stream is not None and stream.cancelled:
                return self._dropped(data, more)
            if self.phase == STREAMING:
                if self.head is not None:
                    await self.head_sent()  # the head goes first
                try:
                    await stream.chunk(data, more)
                except streaming.ClientDisconnected:
                    return self._dropped(data, more)  # the client left while the piece waited for room
            elif more and stream is not None and self.status is not None:
                self.chunks.append(data)
                first = self.whole()
                self.chunks = []
                self.phase = STREAMING
                await stream.respond(first, True)
            else:
                self.chunks.append(data)
            if not more:
                self.complete = True
                self.wake()
                if self.phase == OPEN and stream is not None:
                    self.phase = HELD
                    if not self.stepping:
                        # Sent by another task of the app while its own coroutine waits: _drive
                        # will not see it, so the loop's next turn checks whether the app returned.
                        self.loop.call_soon(self._maybe_early)

    def _dropped(self, data, more):
        """A body message to a client that left: dropped without a word, as uvicorn's `send` drops
        it, so what the app does after it runs as under uvicorn: its background tasks, a dependency's
        teardown after `yield` (a commit). Raising here (since differential round 2) skipped the
        tasks and rolled the commit back (apps round 27, docs/adr/0229-a-send-to-a-client-that-left-
        is-dropped.md). The answer's end always; a piece (`more`) while nothing of the answer went
        out (`@app.middleware("http")` re-sends a whole body in pieces and never asks `receive`) or
        once the app's `receive` said the client left (Starlette's streams listen and stop by
        themselves), up to DROPPED_MAX bytes. Else ClientDisconnected (an OSError): a stream that
        never asks `receive` (a raw app's `while True: await send(...)`) stops at once instead of
        holding its instance to the timeout."""
        if more:
            self.dropped += len(data)
            if (self.told or not self.stream.responded) and self.dropped <= DROPPED_MAX:
                return
            raise streaming.ClientDisconnected("the client closed the connection")
        self.complete = True
        self.wake()

    def _head_after(self, turns):
        """_maybe_head once the loop turned `turns` more times with the head still waiting."""
        if turns == HEAD_TURNS:
            if self.head_due:
                return
            self.head_due = True
        if self.phase != OPEN:
            return
        if turns == 0:
            self._maybe_head()
        else:
            self.loop.call_soon(self._head_after, turns - 1)

    def _maybe_head(self):
        # The app sent http.response.start and gave the loop a turn before any body message (a
        # stream waiting for its first piece, an SSE endpoint for its first event): the head goes
        # now, as uvicorn writes it at http.response.start, and the body follows as a stream
        # (docs/adr/0150-stream-head-at-response-start.md).
        if self.phase == OPEN and self.status is not None and not self.complete and not self.stream.cancelled:
            self.phase = STREAMING
            self.head = self.loop.create_task(self.stream.respond(self.whole(), True))

    async def head_sent(self):
        """Waits for the head sent alone (_maybe_head); a client that left meanwhile is not an error here.
        Every sender waits for it, not only the first: a second task of the app sending at the same
        turn (an SSE heartbeat beside the events) sent its piece before the head, and the host took
        that for a broken protocol, failing the call and killing the runtime (red team round 25). The
        task is shielded: a sender cancelled while it waits (a task group cancelling its heartbeat)
        no longer cancels the head with it, which left the body to go out with no head before it."""
        task = self.head
        try:
            await asyncio.shield(task)
        except streaming.ClientDisconnected:
            pass
        if self.head is task:
            self.head = None

    def _maybe_early(self):
        # The app did not return right after completing its response (a background task runs):
        # the response goes out now, the call's end later.
        if self.phase == HELD:
            self.phase = EARLY
            self.early = self.loop.create_task(self._send_early())

    async def _send_early(self):
        out = self.whole()
        if self.fits is not None and len(out["body"]) <= WHOLE_BODY_MAX:  # a bigger body goes in pieces
            self.fits(out)
        await self.stream.respond(out, False)


@types.coroutine
def _drive(coro, ex):
    """`await coro` (the app's coroutine), one step at a time as the task gives them, noting when a
    step ends with the response complete but the app not returned: it is about to give the loop a
    turn (background work), so the response goes out now (_maybe_early). A response completed in
    the app's last step (the usual case) costs no callback and so no extra turn of the loop (a
    zero-timeout epoll_wait per call under uvloop: bench/README.md, "One connection, again")."""
    value = None
    error = None
    while True:
        ex.stepping = True
        try:
            yielded = coro.send(value) if error is None else coro.throw(error)
        except StopIteration as done:
            return done.value
        finally:
            ex.stepping = False
        error = value = None
        if ex.phase == HELD:
            ex._maybe_early()
        elif ex.phase == OPEN and ex.status is not None:
            ex._head_after(HEAD_TURNS)
        try:
            value = yield yielded  # what the coroutine waits on goes to the task as is
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as err:  # a cancellation (or any throw()) goes on into the app
            error = err


async def call(app, wire: dict, state: dict, stream=None, fits=None):
    """`serve` for an event in the map form (protocol v3: tests, the zygote's warm-up)."""
    return await serve(app, build_scope(wire, app), wire.get("body"), state, stream, fits)


async def serve(app, scope: dict, body, state: dict, stream=None, fits=None):
    """Runs one request (`scope`, and the request's whole `body`). Returns the whole response (dict)
    when the app returned with it complete and nothing was sent yet (one `result` frame: the fast
    path), else Streamed.

    With `stream` (streaming.CallStream): a body sent in pieces (`more_body`) goes out as the app
    sends it, under the stream's window; a complete response whose app has not returned by the next
    turn of the loop (background tasks) goes out then, before they run. `fits` checks a whole
    response before it is sent.
    """
    if state:
        scope["state"] = dict(state)
    # The stream knows the loop: asking asyncio for it costs a getpid() system call (3.11).
    loop = stream.loop if stream is not None else asyncio.get_running_loop()
    ex = _Exchange(bytes(body or b""), stream, fits, loop)
    try:
        running = app(scope, ex.receive, ex.send)
        if stream is not None and type(running) is types.CoroutineType:
            await _drive(running, ex)
        else:  # another awaitable (or no stream: no early send): awaited as it is
            await running
    except streaming.ClientDisconnected:
        if stream is None or not stream.cancelled:
            raise
        # The client left (mid-stream, or before the answer: the app saw http.disconnect) and the
        # app let our send's error through: not the app's failure.
    except Exception as err:
        if ex.head is not None:
            await ex.head_sent()  # a head on its way is out before the call's end
        # `responded`, not bytes sent: after a head with an empty first piece (a generator's first
        # `yield b""`, to send the headers at once) a failure was answered as if nothing went out,
        # a `result` after the `response`: RUNTIME_PROTOCOL_ERROR, and the client had a head with
        # no end of its header block (apps round 14).
        if is_out_of_memory(err) or (stream is not None and stream.responded) or ex.early is not None:
            raise  # a response already went out: the call ends with the error (streamed responses)
        # The caller gets what the app answered (Starlette's 500), the run record the exception.
        raise AppRaised(err, ex.answered()) from err
    finally:
        if ex.head is not None:
            await ex.head_sent()
        ended = ex.complete
        ex.complete = True
        ex.wake()
        if stream is not None:
            stream.on_cancel = None  # no cycle left: the exchange is freed as soon as the call ends
        if ex.phase in (HELD, OPEN):
            ex.phase = RETURNED  # a held response is not sent early any more: it is the result
        if ex.early is not None:
            # Sent before the call's end (`end` or `error`), whatever the app did after it.
            try:
                await ex.early
            except streaming.ClientDisconnected:
                # The client left while it went out (a body past the window): not the app's
                # failure; its run was recorded as one, FUNCTION_ERROR (apps round 27).
                if not stream.cancelled:
                    raise
    if ex.early is not None:
        return Streamed(stream.sent)
    if ex.phase == STREAMING and not ended and not stream.cancelled:  # cancelled: the client left
        raise BadReturn("the ASGI app returned without finishing its response body (more_body was never false)")
    if (ex.status is None or not ended) and not (stream is not None and stream.cancelled):
        # Nothing went out yet: the caller gets uvicorn's plain 500 (uvicorn sends it for a missing
        # start, and cuts a response whose body never ended), the run record the reason.
        why = "finished without sending http.response.start" if ex.status is None else "returned without finishing its response body (more_body was never false)"
        raise AppRaised(BadReturn(f"the ASGI app {why}"), None)
    if ex.status is None:
        raise BadReturn("the ASGI app finished without sending http.response.start")  # to a client that left
    if stream is not None and stream.responded:
        return Streamed(stream.sent)
    out = ex.whole()
    if stream is not None and len(out["body"]) > WHOLE_BODY_MAX:
        try:
            await stream.respond(out, False)
        except streaming.ClientDisconnected:
            pass  # the client left while it was sent: the call ends here
        return Streamed(stream.sent)
    return out


# A lifespan shutdown that has not finished by then is abandoned and the process exits: below the
# host's default grace (2 s) before it kills the process (docs/runtime-protocol.md, "Lifespan").
SHUTDOWN_TIMEOUT_S = 1.5
# How long a failed startup waits for the app to raise the exception it reported (Starlette raises
# at once, right after sending lifespan.startup.failed).
STARTUP_RAISE_WAIT_S = 0.5


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
        self._failed = None

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
            except BaseException as err:  # an app without lifespan support raises here: that is allowed
                if not self._startup.done():
                    self._startup.set_result(None)
                elif (self._startup.result() or {}).get("type") == "lifespan.startup.failed":
                    self._failed = err  # what the app raised after saying startup.failed
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
            raise await self._startup_error(message.get("message", ""))

    async def _startup_error(self, text):
        """The error of a failed startup: the exception the app raises right after saying so
        (Starlette does: its type, message, file and line are the user's), else the message's last line."""
        try:
            # run() keeps what the app raised (in _failed) and ends normally; a cancellation of
            # this startup is not caught here.
            await asyncio.wait_for(asyncio.shield(self._task), STARTUP_RAISE_WAIT_S)
        except asyncio.TimeoutError:  # still running: the message's last line is all there is
            pass
        err = self._failed
        if isinstance(err, Exception):
            err.add_note("(raised in the app's lifespan startup)")
            return err
        lines = [line for line in str(text).splitlines() if line.strip()]
        return RuntimeError(f"lifespan startup failed: {lines[-1].strip() if lines else 'no message'}")

    async def shutdown(self, timeout=SHUTDOWN_TIMEOUT_S):
        if not self.supported or self._task is None or self._task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(asyncio.shield(self._shutdown), timeout)
        except asyncio.TimeoutError:
            pass
