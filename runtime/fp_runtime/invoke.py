"""Running one invocation and turning its outcome into a `result` or `error` message."""
import asyncio
import gc
import inspect
import time

from . import app_errors, asgi, capture, errors, streaming, websocket
from . import django_prefix as _django
from .event import Context, event_from_invoke, make_event
from .frames import MAX_RESPONSE_HEADERS, encode, encode_json_result, encode_result
from .responses import JSON_HEADERS as _JSON_HEADERS, MAX_RESPONSE_BYTES, json_body, to_response, too_big as _too_big
from .scope import scope_of_invoke



_clock = time.perf_counter
_set_capture = capture.set_current
_Capture = capture.Capture
_of_invoke = Context.of_invoke
_JSON_HEADERS_SIZE = sum(len(k) + len(v) for k, v in _JSON_HEADERS)


def _fits(response: dict) -> dict:
    size = len(response["body"])
    headers = response["headers"]
    if headers is _JSON_HEADERS:  # the usual JSON answer's constant header list
        size += _JSON_HEADERS_SIZE
    else:
        if len(headers) > MAX_RESPONSE_HEADERS:
            response["headers"] = headers = headers[:MAX_RESPONSE_HEADERS + 1]
        for k, v in headers:
            size += len(k) + len(v)
    if size > MAX_RESPONSE_BYTES:
        raise _too_big(size)
    return response


# Return types that are never awaitable: inspect.isawaitable's ABC check is skipped for them.
_PLAIN = frozenset((dict, list, str, bytes, type(None), int, float, bool))


def _error(mid, err, loaded, cap, token, start):
    handler_ms = (time.perf_counter() - start) * 1000.0
    klass = _classify(err)
    return {"t": "error", "id": mid, "error": errors.report(err, klass, loaded.dir), "logs": capture.end(cap, token),
            "fatal": klass == errors.OUT_OF_MEMORY, "handlerMs": handler_ms}


def _classify(err):
    if isinstance(err, errors.BadReturn):
        return errors.BAD_RETURN
    if errors.is_out_of_memory(err):  # a lazy import of numpy under a small limit too
        return errors.OUT_OF_MEMORY
    return errors.USER_ERROR


def run_sync(loaded, msg):
    """A sync handler, called on this thread: (the reply's frame, whether the process must exit).
    `msg` is a well-formed `invoke` array (frames.is_invoke; protocol v4). A result is encoded by frames.encode_result without
    building the reply's map, and a plain dict or list (the usual return) goes from the JSON
    encoder to the frame without the response map either (issue 11)."""
    mid = msg[1]  # frames.INVOKE_ID
    cap = _Capture(mid)  # its lines stream under the call's id (flusher.py)
    token = _set_capture(cap)
    start = _clock()
    try:
        event = event_from_invoke(msg)
        context = _of_invoke(msg, loaded.name, loaded.version, loaded.logger)
        value = loaded.target(event, context)
        kind = type(value)
        if kind is dict and "statusCode" not in value or kind is list:
            # What to_response and _fits do for these, in fewer steps.
            response = None
            body = json_body(value)
            if len(body) + _JSON_HEADERS_SIZE > MAX_RESPONSE_BYTES:
                raise _too_big(len(body) + _JSON_HEADERS_SIZE)
        else:
            if kind not in _PLAIN and inspect.isawaitable(value):
                value = asyncio.run(value)
            response = _fits(to_response(value))
    except BaseException as err:  # every failure of user code (even SystemExit) becomes a reply
        reply = _error(mid, err, loaded, cap, token, start)
        return encode(reply), reply["fatal"]
    handler_ms = (_clock() - start) * 1000.0
    if response is None:
        return encode_json_result(mid, body, capture.end(cap, token), handler_ms), False
    return encode_result(mid, response, capture.end(cap, token), handler_ms), False


async def run_async(loaded, msg) -> dict:
    """An async handler, as a task on the running loop (its own context); `msg` in the map form.
    An ASGI app's call is run_asgi."""
    mid = msg.get("id", 0)
    cap, token = capture.begin(mid)  # its lines stream under the call's id (flusher.py)
    start = time.perf_counter()
    try:
        context = Context(msg.get("context") or {}, loaded.name, loaded.version, loaded.logger)
        response = _fits(to_response(await loaded.target(make_event(msg["event"]), context)))
    except asyncio.CancelledError:
        raise
    except BaseException as err:  # every failure of user code (even SystemExit) becomes a reply
        return _error(mid, err, loaded, cap, token, start)
    handler_ms = (time.perf_counter() - start) * 1000.0
    return {"t": "result", "id": mid, "response": response, "logs": capture.end(cap, token), "handlerMs": handler_ms}


async def run_asgi(loaded, a: list, conn, loop):
    """An ASGI app's call from its `invoke` array (frames.is_invoke), with a stream (streaming.py):
    the scope read from the array (no map form of the message) and the reply returned as its frame,
    a `result` written by frames.encode_result (bench/README.md, "The ASGI path per call").
    Returns (frame, whether the process must exit)."""
    mid = a[1]  # frames.INVOKE_ID
    stream = streaming.open_stream(mid, conn, loop)
    try:
        reply, fatal, collected = await _asgi_call(loaded, a, mid, stream)
    finally:
        streaming.close_stream(mid)
    if stream.cancelled and not collected:  # the app raised: its traceback is gone only now
        await _close_abandoned()
    return reply, fatal


async def _asgi_call(loaded, a: list, mid, stream):
    cap, token = capture.begin(mid)  # its lines stream under the call's id (flusher.py)
    start = _clock()
    try:
        app = loaded.target
        scope = scope_of_invoke(a, app)
        if scope["root_path"] != _django.last:  # Django's values made at the other mount point (ADR 0192)
            _django.follow(scope["root_path"], loaded.concurrency)
        # The call's Context, as a handler gets it (`request.scope["fp.context"].db`: the bound database
        # with this run's writes tagged; run_id, remaining_ms), as Mangum's `aws.context` (ADR 0178).
        scope["fp.context"] = _of_invoke(a, loaded.name, loaded.version, loaded.logger)
        state = loaded.lifespan.state if loaded.lifespan else None
        outcome = await asgi.serve(app, scope, a[14], state, stream, _fits)  # frames.INVOKE_BODY
        if stream.cancelled:  # the client left: a body generator's `finally` writes into this call's lines
            await _close_abandoned()
        if isinstance(outcome, asgi.Streamed):
            handler_ms = (_clock() - start) * 1000.0
            return encode({"t": "end", "id": mid, "logs": capture.end(cap, token), "handlerMs": handler_ms}), False, True
        response = _fits(outcome)
    except asyncio.CancelledError:
        raise
    except app_errors.AppRaised as raised:
        handler_ms = (_clock() - start) * 1000.0
        return encode(app_errors.result(mid, raised, loaded.dir, capture.end(cap, token), handler_ms)), False, False
    except BaseException as err:  # every failure of user code (even SystemExit) becomes a reply
        reply = _error(mid, err, loaded, cap, token, start)
        return encode(reply), reply["fatal"], False
    handler_ms = (_clock() - start) * 1000.0
    return encode_result(mid, response, capture.end(cap, token), handler_ms), False, True


async def run_websocket(loaded, msg: dict, conn, loop):
    """An ASGI app's WebSocket connection (`wsopen`, the invoke's map form; websocket.py): the
    call lasts as long as the connection. Returns (frame, whether the process must exit): `end`
    once it was accepted, a `result` 403 for a handshake the app refused, else `error`."""
    mid = msg["id"]
    stream = streaming.open_stream(mid, conn, loop)
    ex = websocket.open_exchange(mid, stream, conn, loop)
    cap, token = capture.begin(mid)
    start = _clock()
    try:
        try:
            app = loaded.target
            scope = websocket.scope_of(msg.get("event") or {}, app)
            if scope["root_path"] != _django.last:
                _django.follow(scope["root_path"], loaded.concurrency)
            # The connection's Context, as an HTTP call's (ADR 0178): one connection is one run, so
            # `run_id` and the writes' tag are the connection's, and `remaining_ms` counts down to
            # `limits.timeout`, when the platform closes it with 1001 (ADR 0126).
            scope["fp.context"] = Context(msg.get("context") or {}, loaded.name, loaded.version, loaded.logger)
            state = loaded.lifespan.state if loaded.lifespan else None
            refused = await websocket.serve(app, scope, ex, state)
        except asyncio.CancelledError:
            raise
        except BaseException as err:  # the app's failure: the connection closes 1011 (the host)
            reply = _error(mid, err, loaded, cap, token, start)
            return encode(reply), reply["fatal"]
        handler_ms = (_clock() - start) * 1000.0
        if refused is not None:  # the handshake's answer: 403, or the app's denial response
            return encode_result(mid, refused, capture.end(cap, token), handler_ms), False
        return encode({"t": "end", "id": mid, "logs": capture.end(cap, token), "handlerMs": handler_ms}), False
    finally:
        websocket.close_exchange(mid)
        streaming.close_stream(mid)


async def _close_abandoned() -> None:
    """The client left a streamed response: Starlette cancelled its streaming task while the body's
    async generator was suspended at `yield`, left in a reference cycle, so the generator's
    `finally` (a DB session, an upstream stream) waited for some later collection. Collected here,
    once the call's outcome holds no traceback, the loop's finalizer schedules its `aclose()`; the
    turns after let that run before the call's `end` goes out, as under uvicorn (a rare event, a
    full collection: the zygote's frozen objects are not visited). A `finally` that awaits I/O goes
    on after the call ended, as it would under uvicorn. Run before the call's lines are taken (and
    the finalizer's task made in the call's context), what that `finally` (or a sync generator's,
    closed by the collection) prints or logs is the call's: it went to the platform's log as output
    outside a call (oddfn round 2)."""
    gc.collect()
    for _ in range(3):  # finalizer -> call_soon_threadsafe(create_task) -> the task's first step
        await asyncio.sleep(0)
