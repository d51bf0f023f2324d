"""WSGI apps (Flask, Django, Bottle, Falcon...) served through the ASGI path (docs/adr/0077-wsgi-apps.md).

An entrypoint whose second positional parameter is `start_response` (PEP 3333) or whose first is
`environ` (`app(environ, respond)`), or an object with a `wsgi_app` (Flask), is wrapped in
`WsgiApp`: the ASGI scope becomes a PEP 3333 environ (the mount point in SCRIPT_NAME, the rest in
PATH_INFO, as a prefix-aware WSGI server gives them; header names with `_` dropped, as gunicorn
does). The app, its response iterable and close() run on the loop's thread at concurrency 1
(seeing no running loop, as in a WSGI server's thread), else in one worker thread per call
(`WsgiApp.threaded`). Each chunk is sent as the app yields it (streaming), after the previous one
was sent (backpressure). Everything else (errors, timeouts, proxies, root_path) is the ASGI path's.
"""
import asyncio
import inspect
import io
import sys
import threading

from fp_runtime.wsgi_names import wsgi_names

_get_running_loop = asyncio.events._get_running_loop
_set_running_loop = asyncio.events._set_running_loop


def _off_loop(fn, *args):
    """fn(*args) on the loop's thread as WSGI code expects its thread: with no running event loop.
    Django refuses its ORM where one runs (SynchronousOnlyOperation), asgiref's async_to_sync (Flask's
    async views) and asyncio.run() refuse to start: every database call of a Django app at
    concurrency 1 was a 500 (2026-12-04)."""
    loop = _get_running_loop()
    _set_running_loop(None)
    try:
        return fn(*args)
    finally:
        _set_running_loop(loop)


def is_wsgi(target) -> bool:
    """A callable of two positional parameters that is a WSGI app, not handler(event, context)."""
    if hasattr(target, "wsgi_app"):
        return True
    code = getattr(target, "__code__", None) if inspect.isfunction(target) else None
    if code is not None and code.co_argcount == 2:
        return wsgi_names(*code.co_varnames[:2])  # a plain function: no signature() on the cold path
    try:
        params = [p for p in inspect.signature(target).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return len(params) == 2 and wsgi_names(params[0].name, params[1].name)


def _wsgi_str(text: str) -> str:
    """PEP 3333's "bytes in a str": the UTF-8 bytes of the text, one character each."""
    return text.encode("utf-8").decode("latin-1")


def environ_of(scope: dict, body: bytes) -> dict:
    root = scope.get("root_path", "")
    path = scope["path"]
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root):]
    scheme = scope.get("scheme", "http")
    client = scope.get("client") or ("127.0.0.1", 0)
    env = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": _wsgi_str(root),
        "PATH_INFO": _wsgi_str(path),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_PROTOCOL": "HTTP/" + scope.get("http_version", "1.1"),
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        # The request's header lines as received, each repeated one apart (the HTTP_ keys join them
        # with ","): request_handler.py hands them to a BaseHTTPRequestHandler class as http.server would.
        "fp.headers": scope.get("headers", ()),
        # The whole body is in wsgi.input: an app may read it to its end even when the request
        # came chunked (Werkzeug reads nothing of a chunked request's input without this).
        "wsgi.input_terminated": True,
    }
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
    for raw_name, raw_value in scope.get("headers", ()):
        if b"_" in raw_name:
            # `x_fp_trigger_id` would become HTTP_X_FP_TRIGGER_ID, the key of the header only the
            # platform sets on a signed delivery, and `content_type` replace CONTENT_TYPE (red team,
            # 2026-12-04): dropped, as gunicorn, Werkzeug's and Django's servers and nginx do.
            continue
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            env[name] = value
            continue
        key = "HTTP_" + name
        if key in env:
            env[key] += ("; " if key == "HTTP_COOKIE" else ",") + value
        else:
            env[key] = value
    host = env.get("HTTP_HOST", "")
    name, _, port = host.rpartition(":") if host.rpartition(":")[2].isdigit() else (host, "", "")
    env["SERVER_NAME"] = name or "function"
    env["SERVER_PORT"] = port or ("443" if scheme == "https" else "80")
    return env


class _Response:
    """What start_response set, and the body bytes write() gave before the iterable's."""

    __slots__ = ("status", "headers", "written", "started")

    def __init__(self):
        self.status = None
        self.headers = None
        self.written = []
        self.started = False  # a body byte was produced: start_response may no longer replace the headers

    def start_response(self, status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if self.started:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        self.status = int(str(status).split(" ", 1)[0])
        self.headers = [(str(k).lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers]
        return self.write

    def write(self, data):  # PEP 3333's write(): its bytes go before the iterable's
        self.start()
        self.written.append(_bytes(data))

    def start(self):
        if self.status is None:
            raise RuntimeError("the WSGI app sent a body before calling start_response")
        self.started = True

    def message(self):
        return {"type": "http.response.start", "status": self.status, "headers": self.headers}


_END = object()


class WsgiApp:
    """An ASGI app that runs a WSGI app (http only; no lifespan: WSGI has none).

    `threaded` (the function's concurrency is above 1): the app runs in a worker thread per call,
    so calls run side by side. Otherwise on the event loop's thread, as a sync handler runs on the
    runtime's main thread: one call at a time, no thread hop."""

    def __init__(self, app, threaded=False):
        self.app = app
        self.threaded = threaded

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        environ = environ_of(scope, b"".join(chunks))
        if self.threaded:
            await self._threaded(environ, send)
        else:
            await self._inline(environ, send)

    async def _inline(self, environ, send):
        response = _Response()
        result = _off_loop(self.app, environ, response.start_response)
        try:
            sent = False
            items = _off_loop(iter, result)
            while True:
                chunk = _off_loop(next, items, _END)
                if chunk is _END:
                    break
                chunk = _bytes(chunk)
                response.start()
                if sent:
                    # A streamed body: the loop reads its frames between chunks (the app held its
                    # thread while it made this one), so a client gone ends the call here, at the
                    # app's next chunk. A body of one piece pays nothing for it.
                    await asyncio.sleep(0)
                sent = await _emit(send, response, chunk, sent)
            response.start()
            await _finish(send, response, sent)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                _off_loop(close)

    async def _threaded(self, environ, send):
        loop = asyncio.get_running_loop()
        # The app, its iterable and close() run in one thread and one context (Flask's
        # stream_with_context keeps its request context across yields); each item passes to this
        # coroutine one at a time: the thread waits until the last one was sent (backpressure).
        pipe = asyncio.Queue()
        room = threading.Semaphore(1)
        stop = threading.Event()
        response = _Response()
        produced = asyncio.ensure_future(asyncio.to_thread(self._produce, environ, response, pipe, room, stop, loop))
        sent = False
        finished = False
        try:
            while True:
                kind, value = await pipe.get()
                if kind == "end":
                    break
                if kind == "error":
                    raise value
                if kind == "last":
                    # The body is whole: the response ends now, before the iterable's close()
                    # (Django's request_finished work), which is the call's tail, as gunicorn does.
                    await _finish(send, response, sent)
                    finished = True
                else:
                    sent = await _emit(send, response, value, sent)
                room.release()
            if not finished:
                await _finish(send, response, sent)
        except BaseException:
            stop.set()  # the thread stops at its next item (closing the iterable) without waiting for room
            raise
        await produced

    def _produce(self, environ, response, pipe, room, stop, loop):
        """In the app's thread: calls the app, iterates its response, closes it; every outcome goes to `pipe`."""

        def put(item):
            while not room.acquire(timeout=0.05):
                if stop.is_set():
                    return
            if not stop.is_set():
                loop.call_soon_threadsafe(pipe.put_nowait, item)

        try:
            result = self.app(environ, response.start_response)
            try:
                for chunk in result:
                    if stop.is_set():
                        break
                    chunk = _bytes(chunk)
                    response.start()
                    put(("chunk", chunk))
                response.start()
                if not stop.is_set():
                    put(("last", None))
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            put(("end", None))
        except BaseException as err:  # to the coroutine, which raises it in the call
            put(("error", err))


async def _emit(send, response, chunk, sent):
    """Sends the response's start (unless `sent`), what write() gave so far, then `chunk`; True."""
    if not sent:
        await send(response.message())
    while response.written:
        await send({"type": "http.response.body", "body": response.written.pop(0), "more_body": True})
    if chunk:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    return True


async def _finish(send, response, sent):
    """The end: the start too when nothing was sent (HEAD, 204, an empty body), and what write() gave."""
    await _emit(send, response, b"", sent)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _bytes(chunk) -> bytes:
    if isinstance(chunk, str):
        raise TypeError(f"the WSGI app's body holds a str ({chunk[:40]!r}); WSGI bodies are bytes: "
                        "return [text.encode()] (or a framework's response, which encodes it)")
    return bytes(chunk)
