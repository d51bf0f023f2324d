"""API Gateway's event, as Lambda gives it, for a handler whose platform.yaml says `event: lambda`
(docs/api-invoke.md, "Lambda's event").

The platform's own event has the body as bytes, so Lambda code that parses it as the `str` Lambda
gives (`parse_qs(event["body"])` read `name=Ada` back as missing; `"&".join` raised) did not run
unchanged (apps round of 2026-12-05). This event is a plain dict with the keys of both payload
formats (REST API 1.0 and HTTP API 2.0, as the platform's aliases already read): `body` a `str`
(None when empty; base64 with `isBase64Encoded` when it is not UTF-8), `cookies` a list,
`requestContext` with both formats' fields, and header names found in any case (`Headers`). Made per call only for such handlers.
"""
import base64
import time


class Headers(dict):
    """Header names as HTTP APIs (payload 2.0) give them, lower-case (what `json.dumps`, `keys()` and
    iteration show), found in any case, as REST API (1.0) code reads them in the client's:
    `event["headers"]["Content-Type"]`, `["Authorization"]`. With lower-case names only, that code
    raised KeyError (apps round 6 of 2026-12-05; docs/adr/0097-lambda-header-case.md)."""
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


def as_lambda_event(e) -> dict:
    """API Gateway's event for the platform's Event `e` (event.py)."""
    body = e["body"]
    encoded = False
    if not body:
        text = None
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode("ascii"), True
    method, path, ip = e["method"], e["path"], e["clientIp"]
    headers = Headers(e["headers"])
    agent = headers.get("user-agent", "")
    cookies = [c.strip() for c in headers.get("cookie", "").split(";") if c.strip()]
    now = int(time.time() * 1000)
    query = e["query"]
    return {
        "version": "2.0",
        "routeKey": "$default",
        "resource": path,
        "path": path,
        "rawPath": path,
        "httpMethod": method,
        "rawQueryString": e["rawQuery"],
        "headers": headers,
        "multiValueHeaders": Headers({k: list(v) for k, v in e["multiHeaders"].items()}),
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: list(v) for k, v in e["multiQuery"].items()} if query else None,
        "cookies": cookies,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": e["requestId"], "httpMethod": method, "path": path, "resourcePath": path,
            "stage": "$default", "routeKey": "$default", "domainName": headers.get("host", ""),
            "requestTimeEpoch": now, "timeEpoch": now,
            "identity": {"sourceIp": ip, "userAgent": agent},
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": ip, "userAgent": agent},
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def lambda_handler(handler, is_async: bool):
    """`handler` called with API Gateway's event instead of the platform's."""
    if is_async:
        async def call(event, context):
            return await handler(as_lambda_event(event), context)
    else:
        def call(event, context):
            return handler(as_lambda_event(event), context)
    return call
