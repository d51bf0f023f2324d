"""Running one invocation and turning its outcome into a `result` or `error` message."""
import asyncio
import inspect
import time

from . import app_errors, asgi, capture, errors, streaming
from .event import Context, make_event
from .frames import MAX_FRAME_BYTES
from .responses import to_response

# A result must fit in one frame (the host rejects bigger ones) with room for logs and envelope.
MAX_RESPONSE_BYTES = MAX_FRAME_BYTES - 1024 * 1024


def _fits(response: dict) -> dict:
    size = len(response["body"])
    for k, v in response["headers"]:
        size += len(k) + len(v)
    if size > MAX_RESPONSE_BYTES:
        raise errors.BadReturn(f"response of {size} bytes exceeds the {MAX_RESPONSE_BYTES} byte limit")
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
    if isinstance(err, MemoryError):
        return errors.OUT_OF_MEMORY
    return errors.USER_ERROR


def run_sync(loaded, msg) -> dict:
    """A sync handler, called on this thread."""
    mid = msg.get("id", 0)
    cap, token = capture.begin(mid)  # its lines stream under the call's id (flusher.py)
    start = time.perf_counter()
    try:
        event = make_event(msg["event"])
        context = Context(msg.get("context") or {}, loaded.name, loaded.version, loaded.logger)
        value = loaded.target(event, context)
        if type(value) not in _PLAIN and inspect.isawaitable(value):
            value = asyncio.run(value)
        response = _fits(to_response(value))
    except BaseException as err:  # every failure of user code (even SystemExit) becomes a reply
        return _error(mid, err, loaded, cap, token, start)
    handler_ms = (time.perf_counter() - start) * 1000.0
    return {"t": "result", "id": mid, "response": response, "logs": capture.end(cap, token), "handlerMs": handler_ms}


async def run_async(loaded, msg, conn=None, loop=None) -> dict:
    """An async handler or an ASGI app, as a task on the running loop (its own context). With
    `conn`, an ASGI app's response may go out before the call ends (streaming.py): the reply is
    then `end` (or `error`). `loop`: the running loop, when the caller has it at hand."""
    mid = msg.get("id", 0)
    cap, token = capture.begin(mid)  # its lines stream under the call's id (flusher.py)
    start = time.perf_counter()
    try:
        wire = msg["event"]
        if loaded.contract == "asgi":
            state = loaded.lifespan.state if loaded.lifespan else {}
            stream = streaming.open_stream(mid, conn, loop or asyncio.get_running_loop()) if conn is not None else None
            try:
                outcome = await asgi.call(loaded.target, wire, state, stream, _fits)
            finally:
                if stream is not None:
                    streaming.close_stream(mid)
            if isinstance(outcome, asgi.Streamed):
                handler_ms = (time.perf_counter() - start) * 1000.0
                return {"t": "end", "id": mid, "logs": capture.end(cap, token), "handlerMs": handler_ms}
            response = _fits(outcome)
        else:
            context = Context(msg.get("context") or {}, loaded.name, loaded.version, loaded.logger)
            response = _fits(to_response(await loaded.target(make_event(wire), context)))
    except asyncio.CancelledError:
        raise
    except app_errors.AppRaised as raised:
        handler_ms = (time.perf_counter() - start) * 1000.0
        return app_errors.result(mid, raised, loaded.dir, capture.end(cap, token), handler_ms)
    except BaseException as err:  # every failure of user code (even SystemExit) becomes a reply
        return _error(mid, err, loaded, cap, token, start)
    handler_ms = (time.perf_counter() - start) * 1000.0
    return {"t": "result", "id": mid, "response": response, "logs": capture.end(cap, token), "handlerMs": handler_ms}
