"""The ASGI `http` scope of one call, built from the host's wire event.

Where the function is mounted (`rootPath`: `/fn/<name>`, or "" when it is served at the root of
its own host), the scheme and the client the gateway determined (trusted proxies applied,
docs/gateway.md "Proxy headers"). An app that declares its own public prefix
(`FastAPI(root_path="/api/v1")`) expects to be called the way a prefix-stripping proxy calls it,
as under uvicorn: it gets the path without the mount point (docs/runtime-protocol.md, "ASGI"),
as does an app of a framework that routes on what follows `root_path` (Falcon, ADR 0079).
"""
from urllib.parse import unquote

from .frames import http_version


# Frameworks whose apps route on the path as what follows `root_path` (WSGI's PATH_INFO; what
# uvicorn gave before 0.26): Falcon's `falcon.asgi.App` (which builds its URLs as root_path + path)
# and Sanic (which routes on `raw_path` and knows no root_path); Responder 9, Emmett 2 and Starlite 1
# (Litestar's predecessor), whose routers match `scope["path"]` as it is (apps round 18), and
# Datasette's `ds.app()`, which routes on `raw_path` minus its own `base_url` setting (apps round 19).
# Given the full path, as the ASGI spec and Starlette want it, every route under /fn/<name>/ was 404
# (and under uvicorn --root-path too). ADR 0079.
_RELATIVE_PATH_MODULES = ("falcon.", "sanic.", "responder.", "emmett.", "emmett_core.", "starlite.", "datasette.")

# What each app class is, found once from its classes' modules: "fastapi" (its `root_path`
# attribute is a URL prefix), "relative" (above) or "" (the ASGI spec's reading). Only FastAPI's
# attribute counts: Quart's and Flask's `root_path` is their folder on disk (a Quart app was taken
# for one with its own prefix and answered 404 under /fn/<name>/).
_KINDS: dict = {}


def _kind_of(cls) -> str:
    for c in cls.__mro__:
        module = getattr(c, "__module__", None) or ""
        if module == "fastapi" or module.startswith("fastapi."):
            return "fastapi"
        if module.startswith(_RELATIVE_PATH_MODULES):
            return "relative"
    return ""


def routes_relative_path(app) -> bool:
    """Whether `app` is to get the path without its mount point (root_path kept as ever): a
    FastAPI app with its own `root_path` (`FastAPI(root_path="/api/v1")`), or a Falcon app."""
    kind = _KINDS.get(type(app))
    if kind is None:
        kind = _KINDS[type(app)] = _kind_of(type(app))
    if kind == "fastapi":
        value = getattr(app, "root_path", "")
        return isinstance(value, str) and value != ""
    return kind == "relative"


def _client(client):
    if isinstance(client, (list, tuple)) and len(client) == 2:
        host, port = client
        if isinstance(host, str) and host and isinstance(port, int):
            return (host, port)
    return ("127.0.0.1", 0)


def build_scope(wire: dict, app=None) -> dict:
    """The scope of an event in the map form (protocol v3: tests, the zygote's warm-up)."""
    get = wire.get
    return _scope(get("method", "GET"), get("path"), get("rawQuery"),
                  [(k.encode(), v.encode()) for k, v in get("headers") or []], get("rootPath"), get("scheme"),
                  get("client"), app, get("httpVersion") or "1.1")


def scope_of_invoke(a: list, app=None) -> dict:
    """The scope of a well-formed `invoke` array (frames.is_invoke; positions in frames.py), read
    where it lies: no map form of the message in between (bench/README.md, "The ASGI path per call")."""
    h = iter(a[9])  # frames.INVOKE_HEADERS: flat [name, value, ...]
    return _scope(a[5], a[6], a[7], [(k.encode(), v.encode()) for k, v in zip(h, h)], a[11], a[12], a[13], app,
                  http_version(a))


def _scope(method, path, raw_query, headers, root, scheme, client, app, version) -> dict:
    # The host passes the path as it came in the URL (percent-escapes kept) and text it decoded
    # from the client's UTF-8 bytes: encoding it back as UTF-8 gives the ASGI app those bytes.
    root = root or ""
    path = path or "/"
    if routes_relative_path(app):
        # The app sets scope["root_path"] itself (FastAPI(root_path=…)) or routes on what follows
        # it (Falcon): the mount point must not be in the path, or no route matches (what a
        # uvicorn behind a stripping proxy sees).
        full = path
    else:
        # ASGI: `path` is the full, percent-decoded path including root_path; routers strip root_path.
        full = root + path
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": version,  # "1.0" for an HTTP/1.0 client, as uvicorn says (ADR 0260)
        "method": method,
        "scheme": scheme if scheme in ("http", "https") else "http",
        "path": unquote(full) if "%" in full else full,
        "raw_path": full.encode(),
        "root_path": unquote(root) if "%" in root else root,
        "query_string": (raw_query or "").encode(),
        "headers": headers,
        "client": _client(client),
        "server": ("function", 80),
        "state": {},
    }
