"""The `event` and `context` a `handler(event, context)` receives."""
import json
import logging
import os
import time

_monotonic = time.monotonic


class Headers(dict):
    """Header names as HTTP APIs (payload 2.0) give them, lower-case (what `json.dumps`, `keys()` and
    iteration show), found in any case, as REST API (1.0) code reads them in the client's:
    `event["headers"]["Content-Type"]`, `["Authorization"]`. With lower-case names only, that code
    raised KeyError (apps round 6 of 2026-12-05; docs/adr/0097-lambda-header-case.md). The platform's
    own event has them too: OpenFaaS's `event.headers.get("User-Agent")` and Lambda code on the
    default event read None (apps round 21; docs/adr/0137-event-headers-in-any-case.md)."""
    __slots__ = ()

    def __getitem__(self, name):
        return dict.__getitem__(self, name.lower() if type(name) is str else name)

    def __contains__(self, name):
        return dict.__contains__(self, name.lower() if type(name) is str else name)

    def __setitem__(self, name, value):
        dict.__setitem__(self, name.lower() if type(name) is str else name, value)

    def __delitem__(self, name):
        dict.__delitem__(self, name.lower() if type(name) is str else name)

    def get(self, name, default=None):
        return dict.get(self, name.lower() if type(name) is str else name, default)

    def pop(self, name, *default):
        return dict.pop(self, name.lower() if type(name) is str else name, *default)

    def setdefault(self, name, default=None):
        return dict.setdefault(self, name.lower() if type(name) is str else name, default)

    def update(self, *other, **names):
        for name, value in dict(*other, **names).items():
            self[name] = value

    def copy(self):
        """Headers too (dict's copy is a plain dict: `h = event["headers"].copy(); h["Authorization"]`
        raised KeyError)."""
        return Headers(self)


class Event(dict):
    """A dict (Lambda-style keys) with helpers for the body.

    Keys: method, path, rawQuery, query (last value per key), multiQuery (every value, in
    order), headers (lower-case names, found in any case; repeated values joined by ", ", Cookie's by "; "), multiHeaders (every value), body
    (bytes), requestId, clientIp (the caller's address as the gateway determined it, or None),
    scheme ("http" or "https": how the caller reached the platform, a trusted TLS-terminating
    proxy's word included; None for a call that came another way, e.g. a cron tick), httpVersion
    ("1.1", or "1.0" for an HTTP/1.0 request, as ASGI's scope says it).
    Lambda's names (httpMethod, queryStringParameters, ...) read as aliases.
    """

    def __missing__(self, key):
        """Lambda's names (API Gateway REST and HTTP APIs) read as aliases of the platform's keys, so
        a Lambda handler runs unchanged; computed only when asked (never on the call path)."""
        alias = _LAMBDA.get(key)
        if alias is None:
            raise KeyError(key)
        return alias(self)

    def __getattr__(self, name):
        """`event.body`, `event.headers`, `event.method`, ... as OpenFaaS's python3-http event reads
        (only called for names that are not attributes: nothing on the call path)."""
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"'Event' object has no attribute {name!r} (its keys: {', '.join(self)})") from None

    def get(self, key, default=None):
        value = dict.get(self, key, _ABSENT)
        if value is not _ABSENT:
            return value
        alias = _LAMBDA.get(key)
        return default if alias is None else alias(self)

    def json(self):
        """The body parsed as JSON (None for an empty body); raises ValueError if it is not JSON."""
        body = self["body"]
        if not body:
            return None
        try:
            return json.loads(body)
        except RecursionError:  # nested past the interpreter's limit: not JSON this can read (red31)
            raise ValueError("the body is JSON nested too deep to parse") from None
        except ValueError as err:
            coding = self["headers"].get("content-encoding", "").strip().lower()
            if coding in ("", "identity"):
                raise
            # A compressed body comes as the client sent it (as under uvicorn or API Gateway): the
            # decoder's "can't decode byte 0x8b" did not say why (oddfn round).
            raise ValueError(f"the body is compressed (Content-Encoding: {coding}), as the client sent it: decompress "
                             "it first, e.g. json.loads(gzip.decompress(event['body'])) ({err})") from err

    def text(self, encoding="utf-8"):
        return self["body"].decode(encoding)


_ABSENT = object()

# Lambda's event keys (payload 1.0 and 2.0) → the platform's: docs/api-invoke.md, "Lambda's names".
# A Lambda event has None where the platform has an empty dict (no query string).
_LAMBDA = {
    "httpMethod": lambda e: e["method"],
    "rawPath": lambda e: e["path"],
    "rawQueryString": lambda e: e["rawQuery"],
    "queryStringParameters": lambda e: e["query"] or None,
    "multiValueQueryStringParameters": lambda e: e["multiQuery"] or None,
    "multiValueHeaders": lambda e: e["multiHeaders"],
    "pathParameters": lambda e: None,
    "stageVariables": lambda e: None,
    "isBase64Encoded": lambda e: False,
    "requestContext": lambda e: {"requestId": e["requestId"], "httpMethod": e["method"], "path": e["path"],
                                 "identity": {"sourceIp": e["clientIp"]},
                                 "http": {"method": e["method"], "path": e["path"], "sourceIp": e["clientIp"]}},
}


def _grouped(pairs, joiner):
    """(one value per name, every value per name), in one pass; `joiner` None keeps the last
    value, else the values joined by it."""
    single = {}
    multi = {}
    for name, value in pairs:
        if name in multi:
            multi[name].append(value)
            # Cookie lines join with "; " (RFC 9113 §8.2.3, as a proxy joins HTTP/2's split ones):
            # joined by ", " the first line's last value took the next line's first (oddfn round).
            single[name] = value if joiner is None else single[name] + ("; " if name == "cookie" else joiner) + value
        else:
            multi[name] = [value]
            single[name] = value
    return single, multi


def _grouped_flat(flat, joiner):
    """_grouped over a flat [name, value, name, value, ...] list (protocol v4)."""
    it = iter(flat)
    return _grouped(zip(it, it), joiner)


def event_from_invoke(a: list) -> Event:
    """The Event of a well-formed `invoke` array (frames.is_invoke; positions in frames.py)."""
    query = a[8]  # frames.INVOKE_QUERY
    if query:
        query, multi_query = _grouped_flat(query, None)
    else:
        query, multi_query = {}, {}
    headers = a[9]  # frames.INVOKE_HEADERS
    if len(headers) == 2:  # one header (wrk's `host`): no pass over the list
        name, value = headers
        headers, multi_headers = {name: value}, {name: [value]}
    elif headers:
        headers, multi_headers = _grouped_flat(headers, ", ")
    else:
        headers, multi_headers = {}, {}
    client = a[13]  # frames.INVOKE_CLIENT: [host, port], or None
    return Event(method=a[5], path=a[6], rawQuery=a[7], query=query, multiQuery=multi_query, headers=Headers(headers),
                 multiHeaders=Headers(multi_headers), body=a[14] or b"", requestId=a[10], clientIp=client[0] if client else None,
                 scheme=_scheme(a[12]),  # frames.INVOKE_SCHEME
                 httpVersion=a[15] if len(a) > 15 else "1.1")  # frames.INVOKE_HTTP_VERSION (ADR 0260)


def _client_ip(client):
    return client[0] if isinstance(client, (list, tuple)) and client else None


def _scheme(scheme):
    """The scheme the gateway determined (a trusted proxy's X-Forwarded-Proto applied and consumed),
    as ASGI's scope has it: behind a TLS-terminating proxy a plain handler could not tell https from
    http (ops round 2 of 2026-12-07; docs/adr/0262-a-handlers-event-says-the-scheme.md)."""
    return scheme if scheme in ("http", "https") else None


def make_event(wire: dict) -> Event:
    get = wire.get
    query = get("query")
    # No query (most calls) or one header each: no pass over the pairs (issue 11).
    if query:
        query, multi_query = _grouped(query, None)
    else:
        query, multi_query = {}, {}
    headers = get("headers")
    if headers and len(headers) == 1 and len(headers[0]) == 2:
        name, value = headers[0]
        headers, multi_headers = {name: value}, {name: [value]}
    elif headers:
        headers, multi_headers = _grouped(headers, ", ")
    else:
        headers, multi_headers = {}, {}
    return Event(
        method=get("method", "GET"),
        path=get("path", "/"),
        rawQuery=get("rawQuery", ""),
        query=query,
        multiQuery=multi_query,
        headers=Headers(headers),
        multiHeaders=Headers(multi_headers),
        body=get("body") or b"",
        requestId=get("requestId", ""),
        clientIp=_client_ip(get("client")),
        scheme=_scheme(get("scheme")),
        httpVersion=get("httpVersion") or "1.1",
    )


class Context:
    """What the handler knows about its call. Lambda-compatible names where they exist."""

    __slots__ = ("request_id", "function_name", "function_version", "attempt", "logger", "_deadline")

    # The rest of Lambda's context, one value per process (it serves one function; set at specialize
    # by `of_function`): code written for Lambda reads them unguarded (AWS's own sample prints
    # `context.invoked_function_arn` and `"..." + context.memory_limit_in_mb`; Powertools'
    # `@logger.inject_lambda_context` reads both), and each was an AttributeError, the call a
    # 500 FUNCTION_ERROR (oddfn round 2, ADR 0206). Lambda's types: `memory_limit_in_mb` a str.
    memory_limit_in_mb = None
    invoked_function_arn = None
    log_group_name = None
    log_stream_name = None
    identity = None  # Lambda: a Cognito identity, None unless called through the mobile SDK
    client_context = None  # the same
    tenant_id = None  # Lambda: the tenant of a tenant-isolated function; none here

    @classmethod
    def of_function(cls, name: str, version: str, memory_bytes: int) -> None:
        """Lambda's function-wide names for this process's function: the memory limit in MiB (a str,
        as Lambda's; None without a limit), an ARN-shaped name of the function in Lambda's places
        (`arn:fp:lambda:local:000000000000:function:<name>:<version>`: no AWS region or account, for
        code that logs it or splits it at `:`), the log group
        and stream as `fastapi-platform logs <name>` shows them (the stream: the instance's pid)."""
        cls.memory_limit_in_mb = str(memory_bytes // (1024 * 1024)) if memory_bytes > 0 else None
        cls.invoked_function_arn = f"arn:fp:lambda:local:000000000000:function:{name}:{version}"
        cls.log_group_name = f"/fp/functions/{name}"
        cls.log_stream_name = f"{version}/{os.getpid()}"

    def __init__(self, wire: dict, function_name: str, function_version: str, logger: logging.Logger):
        get = wire.get
        self._set(get("requestId", ""), get("timeoutMs", 0), get("attempt", 1), function_name, function_version, logger)

    def _set(self, request_id, timeout_ms, attempt, function_name, function_version, logger):
        self.request_id = request_id
        self.function_name = function_name
        self.function_version = function_version
        self.attempt = attempt if type(attempt) is int else int(attempt)
        self.logger = logger
        self._deadline = _monotonic() + timeout_ms / 1000.0

    @classmethod
    def of_invoke(cls, a: list, function_name: str, function_version: str, logger: logging.Logger):
        """The Context of a well-formed `invoke` array (positions in frames.py)."""
        self = cls.__new__(cls)
        self._set(a[2], a[3], a[4], function_name, function_version, logger)
        return self

    @property
    def remaining_ms(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms

    # Lambda spells these aws_request_id / function_name; keep the common alias.
    @property
    def aws_request_id(self) -> str:
        return self.request_id

    @property
    def db(self):
        """The function's bound database (a pymongo Database; docs/data-binding.md). Its writes
        carry this run's id. Raises data.NoBinding when platform.yaml declares no `data.mongo`."""
        from . import data
        return data.database_for(self.request_id)

    @property
    def run_id(self) -> str:
        """The run's id: for an async run the id its 202 answered, the same on every attempt."""
        return self.request_id
