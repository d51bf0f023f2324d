"""Vercel's Python function: `class handler(BaseHTTPRequestHandler)` in `api/index.py`, with
`do_GET`/`do_POST` methods writing the response to `self.wfile` (docs/adr/0134-request-handler-classes.md).

Such a class was taken for an ASGI app (its constructor takes three parameters: request,
client_address, server), so every call failed in `setup()` with an AttributeError on the scope
(apps round 21). It is served as a WSGI app instead (wsgi.py does the rest): each call builds the
request's bytes (the function's path and query, its headers, its whole body with a Content-Length,
`Connection: close`), runs the class on an in-memory connection as `http.server` would on a
socket, and parses what it wrote with `http.client`, so its status, headers (each Set-Cookie
kept), body and a HEAD's empty body are what the class sent. Nothing listens on a port.
"""
import http.client
import io
import urllib.parse

# Hop-by-hop headers (RFC 9110 §7.6.1) are the connection's, not the response's: a WSGI app may
# not send them (PEP 3333), and the gateway frames the body itself. `Date` too: the gateway sends
# its own (send_response() writes one, and the answer had two).
_DROPPED = frozenset(("connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer", "date"))
_PATH_SAFE = "/!$&'()*+,;=:@-._~"
_FRAMING = frozenset(("connection", "content-length", "transfer-encoding"))


class _Connection:
    """What StreamRequestHandler.setup() reads as its socket: the request's bytes to read, a
    sendall() that keeps what the class wrote."""

    def __init__(self, request: bytes):
        self._request = request
        self.written = bytearray()

    def makefile(self, mode="r", buffering=None, **_):
        if "r" in mode:
            return io.BytesIO(self._request)
        return _Writer(self)

    def sendall(self, data):
        self.written += data

    def settimeout(self, _):
        pass

    def setsockopt(self, *_):
        pass

    def close(self):
        pass


class _Writer(io.RawIOBase):
    """`wfile` for a class with `wbufsize` set (StreamRequestHandler's default writes with sendall)."""

    def __init__(self, connection):
        self._connection = connection

    def writable(self):
        return True

    def write(self, data):
        self._connection.sendall(bytes(data))
        return len(data)


class _Reply:
    """What http.client.HTTPResponse reads as its socket: the bytes the class wrote."""

    def __init__(self, data: bytes):
        self._data = data

    def makefile(self, mode="rb", *_):
        return io.BytesIO(self._data)


class _Server:
    """`self.server` as an HTTPServer would be seen by the class."""

    def __init__(self, environ):
        self.server_name = environ.get("SERVER_NAME", "function")
        self.server_port = int(environ.get("SERVER_PORT") or 80)
        self.server_address = (self.server_name, self.server_port)


def _request_bytes(environ) -> bytes:
    path = urllib.parse.quote(environ.get("PATH_INFO", "/").encode("latin-1"), safe=_PATH_SAFE) or "/"
    query = environ.get("QUERY_STRING", "")
    # The client's version, as http.server's class reads it (`self.request_version`: HTTP/1.0 or 1.1).
    lines = [f"{environ['REQUEST_METHOD']} {path}{'?' + query if query else ''} {environ.get('SERVER_PROTOCOL', 'HTTP/1.1')}"]
    # Each header line as received, so `self.headers.get_all("X-Tag")` has every one as under
    # http.server (environ's HTTP_ keys join repeated ones: ["a,b"]); a name with "_" is dropped
    # as wsgi.py drops it, and the connection's framing is this call's own (below).
    for raw_name, raw_value in environ.get("fp.headers", ()):
        name = raw_name.decode("latin-1")
        if "_" not in name and name.lower() not in _FRAMING:
            lines.append(f"{name.title()}: {raw_value.decode('latin-1')}")
    body = environ["wsgi.input"].read()
    lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")  # one request: a class speaking HTTP/1.1 does not wait for another
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def as_wsgi(cls):
    """The WSGI app that runs the request-handler class `cls` once per call."""

    def app(environ, start_response):
        connection = _Connection(_request_bytes(environ))
        client = (environ.get("REMOTE_ADDR", "127.0.0.1"), int(environ.get("REMOTE_PORT") or 0))
        cls(connection, client, _Server(environ))
        if not connection.written:
            raise RuntimeError(f"{cls.__name__} wrote no response: a do_{environ['REQUEST_METHOD']}() method sends one "
                               "with send_response(), end_headers() (which writes the head) and self.wfile.write(body)")
        reply = http.client.HTTPResponse(_Reply(bytes(connection.written)), method=environ["REQUEST_METHOD"])
        try:
            reply.begin()
        except http.client.HTTPException as exc:
            raise RuntimeError(f"{cls.__name__} wrote no valid HTTP response ({type(exc).__name__}: {exc}); "
                               "it begins with send_response(status) and ends its head with end_headers()") from None
        body = reply.read()
        head = environ["REQUEST_METHOD"] == "HEAD"  # a HEAD's Content-Length is the GET's, as the class said
        headers = [(k, v) for k, v in reply.msg.items() if k.lower() not in _DROPPED and (head or k.lower() != "content-length")]
        if not head:
            headers.append(("Content-Length", str(len(body))))
        start_response(f"{reply.status} {reply.reason}", headers)
        return [body]

    app.__name__ = app.__qualname__ = cls.__name__
    app.__module__ = cls.__module__
    return app
