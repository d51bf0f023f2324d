"""Byte-for-byte comparison of the apps in this folder: uvicorn vs the platform.

Each app is deployed on a running platform (`npx fastapi-platform deploy` in its folder). For each
app this script starts uvicorn twice (plain, and with `--root-path /fn/<name>`) and sends the same
requests to

  - uvicorn plain              vs the platform at the root of the app's host (`<name>.localhost`)
  - uvicorn --root-path /fn/<name>  vs the platform under `/fn/<name>/`

with the same Host header on both sides, then prints every difference in status, headers (except
Date, Server and the platform's timing and run headers) and body bytes.

    python compare.py --platform http://127.0.0.1:18745 [--python VENV/bin/python] [app ...]

Not part of `npm test`: it needs a running platform and the apps' packages in the uvicorn
interpreter's environment (test/README.md, "Apps the tutorials do not cover"). The round of
2026-12-03 ran it with a venv made from the runtime's interpreter, a .pth file pointing at .venv's
site-packages, and `pip install sqlalchemy pydantic-settings pyjwt python-multipart jinja2
itsdangerous httpx` in it. The round of 2026-12-04 (the apps from `wsapp` on) used FastAPI's peer
environment (test/peers, its venv has orjson, python-multipart, jinja2) for the platform's
FP_PYTHON, and for uvicorn a venv over it with `websockets` added (uvicorn answers a WebSocket
handshake only with it). What differs in those rounds, and why, is in docs/api-invoke.md.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
STRICT_MTIME = os.environ.get("COMPARE_MTIME") == "1"
IGNORED = {"date", "server", "x-run-id", "x-cold-start", "server-timing"}
# Derived from a file's mtime: files the apps write in /tmp at start-up, and bundle files (their
# time on the platform is the upload's: docs/api-invoke.md, "What differs from uvicorn").
MTIME = {"etag", "last-modified"}
BOUNDARY = "----fpboundary7MA4YWxkTrZu0gW"


def multipart(fields: list[tuple[str, str | tuple[str, bytes, str]]]) -> tuple[bytes, str]:
    out = b""
    for name, value in fields:
        out += f"--{BOUNDARY}\r\n".encode()
        if isinstance(value, tuple):
            filename, data, ctype = value
            out += f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode() + data + b"\r\n"
        else:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    out += f"--{BOUNDARY}--\r\n".encode()
    return out, f"multipart/form-data; boundary={BOUNDARY}"


def J(obj) -> tuple[bytes, dict]:
    return json.dumps(obj).encode(), {"Content-Type": "application/json"}


def raw(data: bytes, name: str) -> dict:
    """A request sent as these bytes over a socket (what http.client refuses to send): `{P}` is
    the path prefix, `{H}` the Host value. The connection is closed after the answer."""
    return {"raw": data, "name": name}


def req(method, path, headers=None, body=b"", name=None, cookies=True):
    return {"method": method, "path": path, "headers": headers or {}, "body": body, "name": name or f"{method} {path}", "cookies": cookies}


def requests_for(app: str) -> list[dict]:
    if app == "sqlnotes":
        b1, h = J({"title": "first", "body": "hello", "tag": "a"})
        b2, _ = J({"title": "second", "tag": "b"})
        return [req("POST", "/reset"), req("POST", "/notes", h, b1), req("POST", "/notes", h, b2),
                req("GET", "/notes"), req("GET", "/notes?tag=a&tag=b&limit=5"), req("GET", "/notes?tag=a"),
                req("GET", "/notes/1"), req("GET", "/notes/99"), req("GET", "/notes/abc"),
                req("PATCH", "/notes/1", h, json.dumps({"tag": None}).encode()), req("GET", "/notes/1"),
                req("DELETE", "/notes/2"), req("DELETE", "/notes/2"), req("GET", "/state"),
                req("POST", "/notes", h, b'{"title": 1', name="broken json"),
                req("HEAD", "/notes"), req("OPTIONS", "/notes"), req("GET", "/openapi.json"), req("GET", "/docs")]
    if app == "settingsapp":
        return [req("GET", "/config")]
    if app == "authjwt":
        form = b"username=alice&password=wonderland&scope=me+items"
        fh = {"Content-Type": "application/x-www-form-urlencoded"}
        return [req("POST", "/token", fh, form), req("POST", "/token", fh, b"username=alice&password=nope"),
                req("POST", "/token", fh, b"username=alice"), req("POST", "/token", {"Content-Type": "application/json"}, b'{"username":"alice"}'),
                req("GET", "/users/me"), req("GET", "/users/me", {"Authorization": "Bearer garbage"}),
                req("GET", "/users/me", {"Authorization": "Basic YTpi"}), "TOKEN", req("GET", "/openapi.json")]
    if app == "basicauth":
        good = {"Authorization": "Basic c3RhbmxleWpvYnNvbjpzd29yZGZpc2g="}
        bad = {"Authorization": "Basic eDp5"}
        return [req("GET", "/users/me"), req("GET", "/users/me", good), req("GET", "/users/me", bad), req("GET", "/users/me", {"Authorization": "Basic !!"}),
                req("GET", "/admin"), req("GET", "/admin", good), req("GET", "/admin", bad),
                req("GET", "/keyed", {"X-API-Key": "k-123"}), req("GET", "/keyed?api_key=k-123"),
                req("GET", "/keyed", {"Cookie": "api_key=k-123"}, cookies=False), req("GET", "/keyed"), req("GET", "/openapi.json")]
    if app == "webui":
        fh = {"Content-Type": "application/x-www-form-urlencoded"}
        return [req("GET", "/"), req("GET", "/static/style.css"), req("GET", "/static/logo.svg"), req("HEAD", "/static/style.css"),
                req("GET", "/static/style.css", {"Range": "bytes=0-9"}), req("GET", "/static/missing.css"),
                req("GET", "/static"), req("GET", "/static/"),
                req("POST", "/login", fh, b"username=Ad%C3%A1"), req("GET", "/"), req("POST", "/login", fh, b"username=again"), req("GET", "/"),
                req("POST", "/logout"), req("GET", "/"), req("GET", "/relative"), req("GET", "/absolute"), req("GET", "/urls"),
                req("GET", "/static/style.css", {"If-None-Match": "IFNONE"}, name="conditional GET")]
    if app == "mw":
        o = {"Origin": "https://app.example.com"}
        pre = {**o, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "X-Custom, content-type"}
        bad = {"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"}
        gz = {"Accept-Encoding": "gzip, deflate, br"}
        b, h = J({"a": 1})
        return [req("GET", "/small", o), req("GET", "/big", gz), req("GET", "/big"), req("GET", "/text", {**o, **gz}),
                req("HEAD", "/big", gz), req("OPTIONS", "/items/1", pre), req("OPTIONS", "/items/1", bad),
                req("PUT", "/items/1", {**o, **h}, b), req("GET", "/small", {"Host": "evil.example"}, name="untrusted host"),
                req("GET", "/big", {"Accept-Encoding": "gzip", "Range": "bytes=0-10"})]
    if app == "routers":
        k = {"X-API-Key": "k1"}
        return [req("GET", "/v1/users/", k), req("GET", "/v1/users", k), req("GET", "/v1/users/"), req("GET", "/v1/users/2", k),
                req("GET", "/v1/items/5?q=1&q=2"), req("GET", "/v1/items/5?q=x"), req("GET", "/v1/items/418"),
                req("POST", "/v1/items/", {"Content-Type": "application/json"}, b'{"a": 1, "b": "2"}'),
                req("POST", "/v1/items/", {"Content-Type": "application/json"}, b'{"a": "x"}'),
                req("GET", "/nope"), req("DELETE", "/v1/items/5"), req("GET", "/admin/stats"), req("GET", "/admin/openapi.json"),
                req("GET", "/admin"), req("GET", "/openapi.json"), req("GET", "/boom")]
    if app == "streams":
        return [req("POST", "/reset"), req("GET", "/sse?n=3"), req("GET", "/csv"), req("GET", "/bytes"), req("HEAD", "/csv"),
                req("POST", "/jobs?name=one"), "SSE_DISCONNECT", req("GET", "/log")]
    if app == "files":
        body, ctype = multipart([("file", ("résumé.txt", b"hello \xff\xfe world", "text/plain")), ("note", "n\u00f6te")])
        many, mctype = multipart([("files", ("a.bin", b"\x00" * 1000, "application/octet-stream")), ("files", ("b.bin", b"\x01" * 70000, "application/octet-stream"))])
        big = json.dumps([{"i": i, "name": f"row {i}", "tags": ["x", "y"]} for i in range(40000)]).encode()
        return [req("POST", "/upload", {"Content-Type": ctype}, body), req("GET", "/last"), req("POST", "/uploads", {"Content-Type": mctype}, many),
                req("GET", "/download"), req("HEAD", "/download"), req("GET", "/download", {"Range": "bytes=0-99"}),
                req("GET", "/download", {"Range": "bytes=-10"}), req("GET", "/download", {"Range": "bytes=100-199,300-310"}),
                req("GET", "/download", {"Range": "bytes=999999-"}), req("GET", "/download/named"),
                req("POST", "/json", {"Content-Type": "application/json"}, big, name="POST /json (big)"),
                req("POST", "/json", {"Content-Type": "application/json"}, b'[{"a": "caf\xe9"}]', name="POST /json (latin-1 bytes)"),
                req("POST", "/json", {"Content-Type": "application/json; charset=latin-1"}, b'[{"a": "caf\xe9"}]', name="POST /json charset latin-1"),
                req("POST", "/raw", {"Content-Type": "application/octet-stream"}, bytes(range(256)) * 10),
                req("POST", "/text", {"Content-Type": "text/plain; charset=latin-1"}, b"caf\xe9 cr\xe8me"),
                req("POST", "/form", {"Content-Type": "application/x-www-form-urlencoded"}, b"a=caf%E9&b=%C3%A9t%C3%A9&c=\xe9"),
                req("POST", "/upload", {"Content-Type": "multipart/form-data"}, b"garbage", name="multipart without boundary")]
    if app == "egress":
        return [req("GET", "/proxy/echo?q=hi"), req("GET", "/proxy/missing"), req("GET", "/sync"), req("GET", "/unreachable")]
    if app == "misc":
        return [req("GET", "/items/?q=a&q=b&n=1&n=2"), req("GET", "/items?q=a"), req("GET", "/items/?n=x"), req("GET", "/items/?q=%C3%A9&q=%E9"),
                req("POST", "/any", {}, b"hello"), req("PUT", "/any", {}, b"\xff\xfe"), req("OPTIONS", "/any"), req("HEAD", "/any"),
                req("PATCH", "/any"), req("POST", "/only-get"), req("HEAD", "/only-get"), req("OPTIONS", "/only-get"), req("HEAD", "/head-only"),
                req("GET", "/cookies/set"), req("GET", "/cookies/read"), req("GET", "/cookies/clear"),
                req("GET", "/cookies/read", {"Cookie": "session=s1; theme=light"}, cookies=False),
                req("GET", "/whoami"), req("GET", "/whoami", {"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"}),
                req("GET", "/html"), req("GET", "/go"), req("GET", "/nocontent"), req("GET", "/notmodified"),
                req("GET", "/status/205"), req("GET", "/status/304"), req("GET", "/status/199"), req("GET", "/status/600"),
                req("GET", "/%E9t%C3%A9"), req("GET", "/items/?q=a+b&q=c%26d")]
    if app == "edge":
        chunked = b"POST {P}/echo/up HTTP/1.1\r\nHost: {H}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        expect = b"POST {P}/echo/x HTTP/1.1\r\nHost: {H}\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
        return [req("GET", "/echo/a%2Fb/c?x=1&y=%E9", {"X-Multi": "1", "Accept-Encoding": "identity"}),
                raw(b"GET {P}/echo/caf\xe9?q=\xe9 HTTP/1.1\r\nHost: {H}\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n", "raw bytes in path and query"),
                raw(b"GET {P}/echo/h HTTP/1.1\r\nHost: {H}\r\nX-Name: caf\xe9\r\nX-Multi: a\r\nX-Multi: b, c\r\nCookie: k=v\xe9; j=\"q\"\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n", "raw bytes in headers, repeated headers"),
                raw(b"GET {P}/echo/old HTTP/1.0\r\nHost: {H}\r\nAccept-Encoding: identity\r\n\r\n", "HTTP/1.0"),
                raw(chunked.replace(b"Connection: close\r\n", b"Accept-Encoding: identity\r\nConnection: close\r\n"), "chunked upload"),
                raw(expect.replace(b"Connection: close\r\n", b"Accept-Encoding: identity\r\nConnection: close\r\n"), "Expect: 100-continue"),
                req("GET", "//echo//double", {"Accept-Encoding": "identity"}), req("GET", "/echo/../echo/dots", {"Accept-Encoding": "identity"}),
                req("GET", "/fail"), req("GET", "/stream-fail"), req("GET", "/stream-gzip", {"Accept-Encoding": "gzip"}),
                req("GET", "/nocontent-body"), req("GET", "/headers-order"), req("GET", "/empty-header")]
    if app == "rootpath":
        return [req("GET", "/items/3"), req("GET", "/api/items/3"), req("GET", "/go"), req("GET", "/api/go"), req("GET", "/slash"),
                req("GET", "/api/slash"), req("GET", "/openapi.json"), req("GET", "/api/openapi.json"), req("GET", "/docs"), req("GET", "/api/docs")]
    if app == "wsapp":
        ws = b"GET {P}/ws HTTP/1.1\r\nHost: {H}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        return [req("GET", "/"), req("GET", "/ws"), head_only(ws, "WebSocket handshake to /ws"),
                head_only(ws.replace(b"/ws ", b"/ "), "WebSocket handshake to an HTTP route")]
    if app == "depsyield":
        return [req("POST", "/reset"), req("GET", "/ok"), req("GET", "/conflict"), req("GET", "/crash"), req("GET", "/http-error"),
                req("GET", "/teardown-fails"), req("GET", "/cached"), req("GET", "/settings"), req("GET", "/guarded"),
                req("GET", "/guarded", {"X-Token": "t"}), "SETTLE", req("GET", "/events")]
    if app == "routerdeps":
        prof, pc = multipart([("name", "Zoe"), ("tags", "a"), ("tags", "b"), ("avatar", ("me.png", b"\x89PNG" + bytes(range(256)) * 40, "image/png")),
                              ("notes", ("n.txt", b"hello notes", "text/plain"))])
        short, _ = multipart([("name", "Z"), ("avatar", ("me.png", b"x", "image/png"))])
        bad, bh = J([1, 2])
        return [req("POST", "/events/reset"), req("GET", "/admin/items/5", {"X-Key": "k1"}), req("GET", "/admin/items/5", {"X-Key": "no"}),
                req("GET", "/admin/items/5", name="GET /admin/items/5 without the key"), req("GET", "/admin/items/x", {"X-Key": "k1"}),
                req("GET", "/admin/report.csv", {"X-Key": "k1"}), "SETTLE0.5", req("GET", "/events"), req("GET", "/links"),
                req("GET", "/sub/hello/zoe"), req("GET", "/typed?n=x&flag=maybe"), req("GET", "/typed?n=3&flag=yes"),
                req("POST", "/profile", {"Content-Type": pc}, prof, name="POST /profile (form and files)"),
                req("POST", "/profile", {"Content-Type": pc.replace(BOUNDARY, "other")}, short, name="POST /profile (invalid)"),
                req("POST", "/json-body", bh, bad, name="POST /json-body (a list)"), req("POST", "/json-body", bh, b"{bad", name="POST /json-body (bad JSON)")]
    if app == "responses":
        return [req("GET", "/orjson"), req("GET", "/text"), req("GET", "/html"), req("GET", "/redirect/relative"), req("GET", "/redirect/root"),
                req("GET", "/redirect/urlfor"), req("GET", "/redirect/path"), req("GET", "/redirect/away"), req("GET", "/cookies"),
                req("GET", "/custom"), req("GET", "/http-exc"), req("GET", "/quota"), req("GET", "/created"), req("GET", "/empty"),
                req("GET", "/json-none"), req("HEAD", "/orjson"), req("POST", "/orjson")]
    if app == "paths":
        return [req("GET", "/files/a%2Fb"), req("GET", "/files/a%2fb%20c"), req("GET", "/files/a/b"), req("GET", "/tree/a%2Fb/c/"),
                req("GET", "/tree/x/../y"), req("GET", "/color/red"), req("GET", "/color/green"), req("GET", "/num/007"), req("GET", "/num/1e3"),
                req("GET", "/q?ids=1&ids=2&ids=3&tag=a&tag=&flag=yes"), req("GET", "/q?ids=x"), req("GET", "/q?ids=1,2"),
                req("GET", "/slash"), req("GET", "/slash?x=1&y=%2F"), req("GET", "/slash/"), req("GET", "/noslash/"), req("GET", "/noslash/?a=b"),
                req("GET", "/r"), req("GET", "/r/"), req("GET", "/r/leaf"), req("POST", "/slash"), req("GET", "/strict/x"), req("GET", "/strict/x/"),
                req("GET", "/%C3%A9/%C3%A9"), req("GET", "/%c3%a9/v"), req("GET", "/files/%E9")]
    if app == "openapidocs":
        return [req("GET", "/spec/openapi.json"), req("GET", "/api-docs"), req("GET", "/api-redoc"), req("GET", "/api-docs/oauth2-redirect"),
                req("GET", "/docs"), req("GET", "/openapi.json"), req("GET", "/plain/openapi.json"), req("GET", "/plain/docs"), req("GET", "/plain/ping"),
                req("POST", "/items", {"Content-Type": "application/json"}, b'{"name": "n", "price": "2.5"}')]
    if app == "subapps":
        return [req("GET", "/"), req("GET", "/v1/items/1"), req("GET", "/v1/openapi.json"), req("GET", "/v1/docs"), req("GET", "/v2/items/2"),
                req("GET", "/v2/openapi.json"), req("GET", "/star/hi"), req("GET", "/star"), req("GET", "/static/hello.txt"), req("GET", "/v1"),
                req("GET", "/v1/"), req("GET", "/openapi.json")]
    if app == "bodymw":
        body, ctype = multipart([("a", "1"), ("f", ("x.txt", b"x" * 5000, "text/plain")), ("a", "2")])
        return [req("POST", "/echo", {}, b"hello"), req("POST", "/echo", {}, bytes(range(256)) * 8000, name="POST /echo 2 MB"),
                req("POST", "/json", {"Content-Type": "application/json"}, b'{"k": [1, 2]}'), req("POST", "/form", {"Content-Type": ctype}, body),
                req("POST", "/stream-in", {}, b"z" * 300000), req("POST", "/echo", {"X-Block": "1"}, b"abc"), req("GET", "/stream-out"),
                req("POST", "/echo"), req("POST", "/json", {"Content-Type": "application/json"}, b"{bad")]
    if app == "bigfiles":
        def files(n, size):
            return multipart([("files", (f"f{i}.bin", bytes([i]) * size, "application/octet-stream")) for i in range(n)])
        under, uc = files(3, 2_000_000)
        over, oc = files(3, 2_200_000)
        return [req("GET", "/gen?mib=64", name="GET /gen 64 MiB"), "SLOWREAD", req("GET", "/file"), req("HEAD", "/file"),
                req("GET", "/file", {"Range": "bytes=1000-1999"}), req("GET", "/file", {"Range": "bytes=20971000-"}),
                req("GET", "/file", {"Range": "bytes=0-0,-1"}), req("GET", "/file", {"Range": "bytes=30000000-"}),
                "ETAG", req("POST", "/upload", {"Content-Type": uc}, under, name="3 files, 6.0 MB (under 6 MiB)"),
                req("POST", "/upload", {"Content-Type": oc}, over, name="3 files, 6.6 MB (over 6 MiB)")]
    if app == "bgslow":
        # A pause after each call lets its tasks end on its instance: back to back, the next call
        # scales out to a new instance and the tasks' writes are in another process (by design:
        # docs/api-invoke.md "State lives per instance").
        return [req("POST", "/reset"), timed(req("POST", "/send?seconds=1.5")), "SETTLE3", timed(req("GET", "/with-dep")), "SETTLE3",
                timed(req("GET", "/response-task")), "SETTLE3", timed(req("GET", "/task-fails")), "SETTLE3", req("GET", "/done")]
    if app == "rawasgi":
        return [req("GET", "/tiny-chunks"), req("GET", "/stream-head"), req("HEAD", "/stream-head"), req("GET", "/latin1-header"),
                req("GET", "/many-headers"), req("GET", "/cl-right"), req("GET", "/cl-short"), req("GET", "/cl-long"), req("GET", "/te-chunked"),
                req("GET", "/empty-messages"), req("GET", "/no-start"), req("GET", "/no-body"), req("GET", "/dup-ctype"), req("GET", "/header-spaces"),
                req("HEAD", "/tiny-chunks"), req("GET", "/hop-by-hop"), req("GET", "/hop-by-hop", {"Connection": "close"}, name="hop-by-hop, client closes")]
    if app == "bigbody":
        return [req("GET", "/bytes?mib=10"), req("GET", "/bytes?mib=70"), req("HEAD", "/bytes?mib=70"), req("GET", "/json?mib=70")]
    if app == "lifestate":
        return [req("POST", "/reset"), req("GET", "/state"), req("GET", "/state"), req("GET", "/hits")]
    if app == "pkgapp":
        order, h = J({"sku": "pen", "qty": 1, "email": "a@b.c"})
        out_of_stock, _ = J({"sku": "ink", "qty": 1})
        bad, _ = J({"sku": "pen", "qty": 99})
        key = {**h, "X-Api-Key": "dev-key"}
        form, fh = multipart([("file", ("report one.txt", b"hello\x00world" * 50, "text/plain")), ("note", "n1")])
        many, mh = multipart([("files", ("a.bin", b"a" * 10, "application/octet-stream")), ("files", ("b.bin", b"b" * 20, "application/octet-stream"))])
        gz = {"Accept-Encoding": "gzip"}
        cors = {"Origin": "http://localhost:3000"}
        return [req("GET", "/"), req("GET", "/", gz, name="GET / gzip"), req("GET", "/old-home"), req("GET", "/links"),
                req("GET", "/static/style.css"), req("GET", "/static/missing.css"), req("GET", "/nowhere"),
                req("GET", "/products/pen?verbose=true"), req("GET", "/products/nope"), req("GET", "/products/pen?verbose=maybe"),
                req("POST", "/products/orders", h, order, name="POST order without key"),
                req("POST", "/products/orders", key, order), req("POST", "/products/orders", key, out_of_stock, name="POST order out of stock"),
                req("POST", "/products/orders", key, bad, name="POST order invalid"),
                req("GET", "/products/boom/value"), req("GET", "/products/boom/zero"), req("GET", "/products/boom/fine"),
                req("OPTIONS", "/products/orders", {**cors, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}, name="preflight"),
                req("GET", "/products/pen", {**cors, "X-Fixed-Time": "1"}, name="GET cors"),
                req("POST", "/files/", {"Content-Type": fh}, form), req("GET", "/files/report%20one.txt"), req("GET", "/files/report%20one.txt", {"Range": "bytes=0-9"}, name="GET file range"),
                req("POST", "/files/many", {"Content-Type": mh}, many), req("GET", "/files/bundled/report", gz, name="GET bundled gzip"),
                req("GET", "/upstream/echo?q=hi")]
    if app == "asyncdb":
        h = {"Content-Type": "application/json"}
        return [req("POST", "/reset"), req("POST", "/todos", h, b'{"title": "buy milk"}'), req("POST", "/todos", h, b'{"title": "caf\xc3\xa9"}'),
                req("POST", "/todos", h, b'{"title": "buy milk"}', name="POST /todos (exists)"), req("POST", "/todos", h, b'{"title": ""}', name="POST /todos (empty)"),
                req("POST", "/todos", h, b'{"title"', name="POST /todos (broken JSON)"), req("GET", "/todos"), req("GET", "/todos/1"),
                req("GET", "/todos/99"), req("GET", "/todos/x"), req("PATCH", "/todos/1", h, b'{"done": true}'), req("GET", "/todos?done=true"),
                req("GET", "/todos?done=maybe"), req("DELETE", "/todos/2"), req("DELETE", "/todos/2"), req("GET", "/todos")]
    raise SystemExit(f"no requests for {app}")


def head_only(data: bytes, name: str) -> dict:
    """A raw request whose answer is read up to the end of its head (a 101 keeps the connection)."""
    return {"raw": data, "name": name, "head_only": True}


def timed(r: dict) -> dict:
    """Also compares how long the whole answer took: a difference over 300 ms is one."""
    return {**r, "timed": True}


def manifest_entrypoint(app: str) -> str:
    """platform.yaml's `entrypoint` (`app.main:app` for an app in a package: pkgapp), which uvicorn is given too."""
    for line in open(os.path.join(HERE, app, "platform.yaml")):
        m = re.match(r"^entrypoint:\s*([\w.]+:\w+)", line)
        if m:
            return m.group(1)
    return "app:app"


def parse_manifest_env(app: str) -> dict:
    env, inside = {}, False
    for line in open(os.path.join(HERE, app, "platform.yaml")):
        if line.startswith("env:"):
            inside = True
            continue
        if inside:
            m = re.match(r"^\s+([A-Z_0-9]+):\s*(.*)$", line)
            if not m:
                break
            value = m.group(2).strip()
            if value[:1] in "'\"":
                value = value[1:-1]
            env[m.group(1)] = value
    return env


SECRETS = {"settingsapp": {"APP_API_KEY": "sk-live-123456"}}
# An app that sets its own root_path (FastAPI(root_path="/api")) gets, under /fn/<name>/, the path
# without /fn/<name>, as behind a prefix-stripping proxy (docs/gateway.md): plain uvicorn is its peer.
OWN_ROOT_PATH = {"rootpath"}


# COMPARE_PORTS=19520-19559: take uvicorn's ports from this range (a machine shared by several runs).
PORTS = os.environ.get("COMPARE_PORTS")
# COMPARE_UPSTREAM_PORT: where the upstream `egress` calls listens. uvicorn's `egress` is given it
# (platform.yaml's UPSTREAM_URL names the default port: with another one, uvicorn's side answered
# every proxied call 502 ConnectError); the platform's gets it with the deploy (test/README.md).
UPSTREAM_PORT = int(os.environ.get("COMPARE_UPSTREAM_PORT", "18799"))


def free_port() -> int:
    candidates = [0] if not PORTS else list(range(int(PORTS.split("-")[0]), int(PORTS.split("-")[1]) + 1))
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise SystemExit(f"no free port in {PORTS}")


class Upstream(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/echo"):
            body, ctype, status = json.dumps({"path": self.path, "ua": self.headers.get("user-agent", "")[:5]}).encode(), "application/json", 200
        elif self.path == "/hello":
            body, ctype, status = b"hello from upstream", "text/plain", 200
        else:
            body, ctype, status = b"nope", "text/plain", 404
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def start_uvicorn(python: str, app: str, root_path: str | None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, **parse_manifest_env(app), **SECRETS.get(app, {})}
    for name in [k for k in env if k.endswith("UPSTREAM_URL")]:  # UPSTREAM_URL, pkgapp's SHOP_UPSTREAM_URL
        env[name] = f"http://127.0.0.1:{UPSTREAM_PORT}"
    args = [python, "-m", "uvicorn", manifest_entrypoint(app), "--port", str(port), "--no-access-log", "--log-level", "warning"]
    if root_path:
        args += ["--root-path", root_path]
    proc = subprocess.Popen(args, cwd=os.path.join(HERE, app), env=env, stderr=open(f"/tmp/compare-uvicorn-{app}.log", "ab"))
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            if proc.poll() is None:  # not another process's listener on a port uvicorn could not bind
                return proc, port
            break
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"uvicorn for {app} did not start")


class Side:
    def __init__(self, port: int, prefix: str, host: str):
        self.port, self.prefix, self.host, self.jar = port, prefix, host, {}
        self.extra: dict = {}  # headers every request carries (a proxy's X-Forwarded-Prefix)

    def send(self, r: dict) -> dict:
        try:
            if "raw" in r:
                return self._raw(r)
            return self._send(r)
        except (OSError, http.client.HTTPException) as e:
            return {"status": f"no answer ({type(e).__name__})", "headers": [], "body": b""}

    def _raw(self, r: dict) -> dict:
        data = r["raw"].replace(b"{P}", self.prefix.encode()).replace(b"{H}", self.host.encode())
        if self.extra:  # the proxy's headers go in raw requests too, after the request line
            line, sep, rest = data.partition(b"\r\n")
            data = line + sep + b"".join(f"{k}: {v}\r\n".encode() for k, v in self.extra.items()) + rest
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        s.sendall(data)
        got = b""
        if r.get("head_only"):
            s.settimeout(10)
            t0 = time.monotonic()
            try:
                while b"\r\n\r\n" not in got:
                    piece = s.recv(65536)
                    if not piece:
                        break
                    got += piece
            except OSError as e:
                got += f"<{type(e).__name__} after {time.monotonic() - t0:.1f} s>".encode()
            s.close()
            head, _, body = got.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            hdrs = [(k.strip().lower(), v.strip()) for k, _, v in (ln.decode("latin-1").partition(":") for ln in lines[1:])]
            return {"status": lines[0].decode("latin-1") if got else "no answer", "headers": hdrs, "body": body}
        try:
            while True:
                piece = s.recv(65536)
                if not piece:
                    break
                got += piece
        except OSError as e:
            got += f"<{type(e).__name__}>".encode()
        s.close()
        if got.startswith(b"HTTP/1.1 100"):
            got = got.split(b"\r\n\r\n", 1)[1]
        head, _, body = got.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = lines[0].decode("latin-1") if lines else "no answer"
        hdrs = [(k.strip().lower(), v.strip()) for k, _, v in (ln.decode("latin-1").partition(":") for ln in lines[1:])]
        if ("transfer-encoding", "chunked") in hdrs:
            out, rest = b"", body
            while rest:
                size, _, rest = rest.partition(b"\r\n")
                n = int(size or b"0", 16)
                if n == 0:
                    break
                out, rest = out + rest[:n], rest[n + 2:]
            body = out
        return {"status": status.replace("HTTP/1.0", "HTTP/1.1"), "headers": hdrs, "body": body}

    def _send(self, r: dict) -> dict:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": self.host, "User-Agent": "compare/1", **self.extra, **r["headers"]}
        if r.get("cookies") and self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        conn.putrequest(r["method"], self.prefix + r["path"], skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if r["body"] or r["method"] in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", str(len(r["body"])))
        conn.endheaders(r["body"] or None)
        res = conn.getresponse()
        body = res.read() if r["method"] != "HEAD" else b""
        hdrs = [(k.lower(), v) for k, v in res.getheaders()]
        conn.close()
        for k, v in hdrs:
            if k == "set-cookie":
                name, _, rest = v.partition("=")
                value = rest.split(";", 1)[0]
                if value in ('""', "") or "Max-Age=0" in v or "max-age=0" in v:
                    self.jar.pop(name, None)
                else:
                    self.jar[name] = value
        return {"status": res.status, "headers": hdrs, "body": body}


def masked(text: str) -> str:
    # itsdangerous signs a session with the time of day: the same session differs by the second.
    text = re.sub(r"session=[A-Za-z0-9_\-.=]+", "session=<signed>", text)
    # Starlette draws a multipart/byteranges boundary at random.
    return re.sub(r"(boundary=|--)[0-9a-f]{26}", r"\1<boundary>", text)


def diff(name: str, a: dict, b: dict) -> list[str]:
    out = []
    if a["status"] != b["status"]:
        out.append(f"status {a['status']} vs {b['status']}")
    skip = IGNORED | (MTIME if not STRICT_MTIME else set())
    ha = sorted((k, masked(v)) for k, v in a["headers"] if k not in skip)
    hb = sorted((k, masked(v)) for k, v in b["headers"] if k not in skip)
    for k, v in ha:
        if (k, v) not in hb:
            out.append(f"header only uvicorn: {k}: {v}")
    for k, v in hb:
        if (k, v) not in ha:
            out.append(f"header only platform: {k}: {v}")
    if masked(a["body"].decode("latin-1")) != masked(b["body"].decode("latin-1")):
        out.append(f"body differs: uvicorn {len(a['body'])} B {a['body'][:300]!r} vs platform {len(b['body'])} B {b['body'][:300]!r}")
    return [f"  [{name}] {line}" for line in out]


def slow_read(mode: str, uv: Side, pf: Side) -> list[str]:
    """A client that reads 1 MiB of a 64 MiB stream, stalls 3 s, then reads the rest: the same bytes."""
    import hashlib
    got = {}
    for name, side in (("uvicorn", uv), ("platform", pf)):
        conn = http.client.HTTPConnection("127.0.0.1", side.port, timeout=30)
        conn.request("GET", side.prefix + "/gen?mib=64", headers={"Host": side.host})
        res = conn.getresponse()
        h, n = hashlib.sha256(), 0
        first = res.read(2**20)
        h.update(first)
        n += len(first)
        time.sleep(3)
        t0 = time.monotonic()
        while True:
            piece = res.read(2**20)
            if not piece:
                break
            h.update(piece)
            n += len(piece)
        got[name] = (res.status, n, h.hexdigest()[:16])
        conn.close()
    if got["uvicorn"] != got["platform"]:
        return [f"  [{mode} slow reader of /gen] uvicorn {got['uvicorn']} vs platform {got['platform']}"]
    return []


def etag_round(mode: str, uv: Side, pf: Side) -> list[str]:
    """Conditional requests with each side's own validators (they differ: mtime, docs/api-invoke.md)."""
    out = []
    va = {k: v for k, v in uv.send(req("HEAD", "/file"))["headers"]}
    vb = {k: v for k, v in pf.send(req("HEAD", "/file"))["headers"]}
    for name, build in (("If-None-Match", lambda v: {"If-None-Match": v.get("etag", "")}),
                        ("If-None-Match list", lambda v: {"If-None-Match": f'"other", {v.get("etag", "")}'}),
                        ("If-Modified-Since", lambda v: {"If-Modified-Since": v.get("last-modified", "")}),
                        ("If-Range matching", lambda v: {"Range": "bytes=0-9", "If-Range": v.get("etag", "")}),
                        ("If-Range stale", lambda v: {"Range": "bytes=0-9", "If-Range": '"stale"'})):
        for method in ("GET", "HEAD"):
            a = uv.send(req(method, "/file", build(va)))
            b = pf.send(req(method, "/file", build(vb)))
            out += diff(f"{mode} {method} /file {name}", a, b)
    return out


def sse_disconnect(side: Side) -> str:
    s = socket.create_connection(("127.0.0.1", side.port))
    s.sendall(f"GET {side.prefix}/sse?n=200 HTTP/1.1\r\nHost: {side.host}\r\n\r\n".encode())
    got = b""
    while b"event: tick" not in got:
        got += s.recv(4096)
    s.close()
    time.sleep(1.0)
    return "ok"


def run_app(app: str, python: str, platform: str) -> list[str]:
    plat = urlsplit(platform)
    problems = []
    # COMPARE_PROXY_PREFIX=/api/v1 adds a third mode: a prefix-stripping proxy in front, i.e. uvicorn
    # --root-path /api/v1 vs the platform at the app's host with X-Forwarded-Prefix: /api/v1 (the
    # platform must trust 127.0.0.1: FP_TRUSTED_PROXIES).
    proxy = os.environ.get("COMPARE_PROXY_PREFIX")
    for mode in ("root", "fn") + (("proxy",) if proxy else ()):
        prefix = f"/fn/{app}" if mode == "fn" else ""
        host = f"{plat.hostname}:{plat.port}" if mode == "fn" else f"{app}.localhost:{plat.port}"
        root_path = proxy if mode == "proxy" else prefix or None
        proc, port = start_uvicorn(python, app, None if app in OWN_ROOT_PATH else root_path)
        try:
            uv = Side(port, "", host)
            pf = Side(plat.port, prefix, host)
            if mode == "proxy":
                pf.extra = {"X-Forwarded-Prefix": proxy}
            for r in requests_for(app):
                if r == "TOKEN":
                    tok_a = json.loads(uv.send(req("POST", "/token", {"Content-Type": "application/x-www-form-urlencoded"}, b"username=bob&password=builder"))["body"])["access_token"]
                    tok_b = json.loads(pf.send(req("POST", "/token", {"Content-Type": "application/x-www-form-urlencoded"}, b"username=bob&password=builder"))["body"])["access_token"]
                    if tok_a != tok_b:
                        problems.append(f"  [{mode}] token differs")
                    for path in ("/users/me", "/users/me/items"):
                        a = uv.send(req("GET", path, {"Authorization": f"Bearer {tok_a}"}))
                        b = pf.send(req("GET", path, {"Authorization": f"Bearer {tok_b}"}))
                        problems += diff(f"{mode} GET {path} (bob)", a, b)
                    continue
                if isinstance(r, str) and r.startswith("SETTLE"):
                    time.sleep(float(r[len("SETTLE"):] or 1))  # background work after the answers
                    continue
                if r == "SLOWREAD":
                    problems += slow_read(mode, uv, pf)
                    continue
                if r == "ETAG":
                    problems += etag_round(mode, uv, pf)
                    continue
                if r == "SSE_DISCONNECT":
                    sse_disconnect(uv)
                    sse_disconnect(pf)
                    continue
                t0 = time.monotonic()
                a = uv.send(r)
                t1 = time.monotonic()
                b = pf.send(r)
                t2 = time.monotonic()
                problems += diff(f"{mode} {r['name']}", a, b)
                if r.get("timed") and abs((t2 - t1) - (t1 - t0)) > 0.3:
                    problems.append(f"  [{mode} {r['name']}] answered after {t1 - t0:.2f} s (uvicorn) vs {t2 - t1:.2f} s (platform)")
        finally:
            if proc.poll() is not None:  # its answers above are "no answer": say why
                problems.append(f"  [{mode}] uvicorn exited ({proc.returncode}) during the run: see /tmp/compare-uvicorn-{app}.log")
            proc.terminate()
            proc.wait()
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--platform", default="http://127.0.0.1:18745")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("apps", nargs="*")
    ns = ap.parse_args()
    apps = ns.apps or sorted(d for d in os.listdir(HERE) if os.path.isfile(os.path.join(HERE, d, "platform.yaml")))
    upstream = ThreadingHTTPServer(("127.0.0.1", UPSTREAM_PORT), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    total = 0
    for app in apps:
        problems = run_app(app, ns.python, ns.platform)
        total += len(problems)
        print(f"== {app}: {'same' if not problems else f'{len(problems)} difference(s)'}")
        for p in problems:
            print(p)
        sys.stdout.flush()
    upstream.shutdown()
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
