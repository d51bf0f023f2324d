"""pytest plugin of the peer conformance tier (test/README.md, "Peer conformance").

FastAPI's own tutorial tests build `TestClient(app)` on a tutorial module's app and call it
in-process. This plugin runs the same tests two ways, chosen by FP_PEERS_MODE:

- `inprocess`: unchanged; it records which tutorial app (`module:attr`) each test calls, so the
  runner knows what to deploy.
- `platform`: every TestClient built on a deployed app sends its requests over HTTP to the
  platform's gateway, at `/fn/<name>/…`, instead of calling the app (`RemoteTransport`). Paths
  keep the test's host (`testserver`, so cookies and generated URLs read the same) and gain the
  function's mount unless they already carry it (a URL the app generated, e.g. a redirect).
  A request to an `https://` base URL carries `X-Forwarded-Proto: https`, as a TLS-terminating
  proxy in front of the platform would send. `websocket_connect` opens a real WebSocket to the
  gateway the same way (remote_websocket.py). Tests on the exclusion list (exclusions.py) are
  skipped with their reason.

Either way one JSON line per test goes to FP_PEERS_OUT: outcome, a short failure text, the
apps it called, how many requests went through the platform, the platform error codes seen.
"""
from __future__ import annotations

import inspect
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exclusions  # noqa: E402  (next to this file)
from remote_websocket import RemoteWebSocket  # noqa: E402

MODE = os.environ.get("FP_PEERS_MODE", "inprocess")
OUT = os.environ.get("FP_PEERS_OUT")
APPS_FILE = os.environ.get("FP_PEERS_APPS")
TIMEOUT_S = float(os.environ.get("FP_PEERS_TIMEOUT_S", "60"))

_current: dict | None = None  # the running test's record
_records: dict[str, dict] = {}
_excluded: dict[str, str] = {}


def _app_key(app) -> str | None:
    """`module:attr` of the tutorial module attribute holding this app (`app` preferred)."""
    found = []
    for name, mod in list(sys.modules.items()):
        if not name.startswith("docs_src.") or mod is None:
            continue
        for attr, value in list(vars(mod).items()):
            if value is app:
                found.append(f"{name}:{attr}")
    if not found:
        return None
    found.sort(key=lambda k: (not k.endswith(":app"), k))
    return found[0]


def _note(field: str, value) -> None:
    if _current is None:
        return
    items = _current.setdefault(field, [])
    if value not in items:
        items.append(value)


def _count(field: str) -> None:
    if _current is not None:
        _current[field] = _current.get(field, 0) + 1


def _patch_testclient() -> None:
    from starlette import testclient as tc

    httpx = tc.httpx  # the TestClient's own: httpx2 when installed, else httpx
    apps: dict[str, str] = {}
    if MODE == "platform":
        with open(APPS_FILE, encoding="utf-8") as f:
            apps = json.load(f)

    # One connection pool to the gateway for every client (an HTTPTransport builds an SSL
    # context when created: ~20 ms, once per test otherwise).
    shared = httpx.HTTPTransport(retries=0)

    class RemoteTransport(httpx.BaseTransport):
        """Sends the TestClient's requests to the platform instead of calling the app."""

        def __init__(self, base: str, key: str, flags: list[str], root_path: str = "", client=None):
            url = httpx.URL(base)
            self.flags = flags
            self.root_path = root_path
            self.client = client
            self.host, self.port = url.host, url.port
            self.root = url.raw_path.rstrip(b"/")
            self.key = key
            self.inner = shared

        def forwarded(self, request, drop: tuple[bytes, ...] = (b"host",), host: bytes | None = None) -> list[tuple[bytes, bytes]]:
            """The request's headers but `drop`, then `host`, then what a proxy in front passes (the test's Host, client, root_path, scheme)."""
            # Served at the root of its own host (`<name>.localhost`, docs/adr/0020-addressing.md):
            # the app sees the path as in-process; the test's Host (testserver) reaches it as
            # X-Forwarded-Host from 127.0.0.1, a trusted proxy by default.
            headers = [(k, v) for k, v in request.headers.raw if k.lower() not in drop]
            if host is not None:
                headers.append((b"host", host))
            headers.append((b"x-forwarded-host", request.headers.get("host", "testserver").encode()))
            # The TestClient's client name (testclient) and root_path, as a proxy in front passes them.
            if self.client:
                headers.append((b"x-forwarded-for", str(self.client[0]).encode()))
            if self.root_path:
                headers.append((b"x-forwarded-prefix", self.root_path.encode()))
            if request.url.scheme in ("https", "wss"):
                headers.append((b"x-forwarded-proto", b"https"))  # wss too: a proxy says https, the scope says wss
            return headers

        def handle_request(self, request):
            _note("apps", self.key)
            for flag in self.flags:
                _note("flags", flag)
            _count("platformRequests")
            if request.url.scheme in ("ws", "wss"):  # websocket_connect: a real WebSocket to the gateway
                headers = self.forwarded(request, (b"host", b"connection", b"upgrade", b"sec-websocket-key", b"sec-websocket-version", b"sec-websocket-protocol"))
                offered = request.headers.get("sec-websocket-protocol")
                subprotocols = [p.strip() for p in offered.split(",")] if offered else []
                raise tc._Upgrade(RemoteWebSocket(self, request.url, headers, subprotocols, TIMEOUT_S))  # type: ignore[arg-type]
            raw = request.url.raw_path  # path and query, as sent
            name = self.root.rsplit(b"/", 1)[-1]
            headers = self.forwarded(request, host=name + b".localhost:" + str(self.port).encode())
            body = request.read()
            extensions = dict(request.extensions)
            extensions["timeout"] = {"connect": TIMEOUT_S, "read": TIMEOUT_S, "write": TIMEOUT_S, "pool": TIMEOUT_S}
            forwarded = httpx.Request(
                request.method,
                httpx.URL(scheme="http", host=self.host, port=self.port, raw_path=raw),
                headers=headers,
                stream=httpx.ByteStream(body),
                extensions=extensions,
            )
            response = self.inner.handle_request(forwarded)
            try:
                content = b"".join(response.iter_raw())  # still encoded: the client decodes, as in-process
            finally:
                response.close()
            if response.headers.get("x-run-id") and response.headers.get("content-type", "").startswith("application/json"):
                _platform_error(content)
            return httpx.Response(response.status_code, headers=response.headers.raw, stream=httpx.ByteStream(content),
                                  extensions={"http_version": b"HTTP/1.1"})

        def close(self):
            pass  # the shared pool outlives the client

    class InProcess(httpx.BaseTransport):
        """The TestClient's own transport, noting which app each test called."""

        def __init__(self, inner, key, flags: list[str]):
            self.inner, self.key, self.flags = inner, key, flags

        def handle_request(self, request):
            for flag in self.flags:
                _note("flags", flag)
            if self.key is None:
                _note("unknownApps", "an app that is no tutorial module's attribute")
            else:
                _note("apps", self.key)
                if MODE == "platform":
                    _note("notRouted", self.key)  # not deployed: this request ran in-process
            _count("inprocessRequests")
            return self.inner.handle_request(request)

        def close(self):
            self.inner.close()

    original_init = tc.TestClient.__init__
    original_ws = tc.TestClient.websocket_connect

    def __init__(self, app, *args, **kwargs):
        original_init(self, app, *args, **kwargs)
        key = _app_key(app)
        # Noted on each request (a module-level client is built before any test runs).
        flags = ["TestClient(root_path=…)"] if kwargs.get("root_path") or (len(args) >= 3 and args[2]) else []
        if MODE == "platform" and key in apps:
            client = getattr(self._transport, "client", None)
            root_path = getattr(self._transport, "root_path", "") or ""
            self._transport = RemoteTransport(apps[key], key, flags, root_path, client)
        else:
            self._transport = InProcess(self._transport, key, flags)

    def websocket_connect(self, *args, **kwargs):
        _note("flags", "websocket")
        return original_ws(self, *args, **kwargs)

    tc.TestClient.__init__ = __init__
    tc.TestClient.websocket_connect = websocket_connect


def _platform_error(content: bytes) -> None:
    try:
        error = json.loads(content).get("error")
    except (ValueError, AttributeError):
        return
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        _note("platformErrors", {k: error.get(k) for k in ("code", "type", "message") if error.get(k) is not None})


def pytest_configure(config):
    _patch_testclient()


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        try:
            source = inspect.getsource(item.obj)
        except (OSError, TypeError):
            source = ""
        try:
            module_source = inspect.getsource(item.module) if item.module else ""
        except (OSError, TypeError):
            module_source = ""
        reason = exclusions.reason(item.nodeid, source, module_source)
        if reason is None:
            continue
        _excluded[item.nodeid] = reason
        if MODE == "platform":
            item.add_marker(pytest.mark.skip(reason=f"excluded: {reason}"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    global _current
    _current = _records.setdefault(item.nodeid, {"nodeid": item.nodeid})


def pytest_runtest_logreport(report):
    rec = _records.setdefault(report.nodeid, {"nodeid": report.nodeid})
    rec["seconds"] = round(rec.get("seconds", 0) + report.duration, 4)
    if report.when == "call" or report.outcome != "passed":
        # the first failing phase decides; a passing call only counts if setup passed
        if rec.get("outcome") in (None, "passed"):
            rec["outcome"] = "skipped" if report.skipped else report.outcome
            rec["when"] = report.when
            if report.skipped:
                rec["message"] = _skip_reason(report)
            elif report.failed:
                rec["message"] = _failure_text(report)


def _skip_reason(report) -> str:
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        return str(report.longrepr[2])
    return str(report.longrepr)[:500]


def _failure_text(report) -> str:
    """The exception line and the assertion lines (`E …`), at most 4000 characters."""
    text = str(report.longrepr)
    lines = [line for line in text.splitlines() if line.startswith("E ") or line.startswith(">")]
    tail = text.splitlines()[-1] if text else ""
    out = "\n".join(lines[-40:] + [tail])
    return out[-4000:]


def pytest_runtest_logfinish(nodeid, location):
    global _current
    _current = None


def pytest_sessionfinish(session, exitstatus):
    if not OUT:
        return
    with open(OUT, "w", encoding="utf-8") as f:
        for nodeid, rec in _records.items():
            if nodeid in _excluded:
                rec["excluded"] = _excluded[nodeid]
            rec.setdefault("outcome", "error")
            f.write(json.dumps(rec) + "\n")


def pytest_collectreport(report):
    if report.failed:
        _records[report.nodeid] = {"nodeid": report.nodeid, "outcome": "error", "when": "collect",
                                   "message": str(report.longrepr)[-2000:]}

