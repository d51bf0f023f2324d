"""API Gateway's event, as Lambda gives it, for a handler whose platform.yaml says `event: lambda`
(docs/api-invoke.md, "Lambda's event").

The platform's own event has the body as bytes, so Lambda code that parses it as the `str` Lambda
gives (`parse_qs(event["body"])` read `name=Ada` back as missing; `"&".join` raised) did not run
unchanged (apps round of 2026-12-05). This event is a plain dict with the keys of both payload
formats (REST API 1.0 and HTTP API 2.0, as the platform's aliases already read): `body` a `str`
(None when empty; base64 with `isBase64Encoded` when it is not UTF-8), `cookies` a list,
`requestContext` with both formats' fields, and header names found in any case (`Headers`). Made per call only for such handlers.

A cron tick (the platform's `x-fp-cron-tick`, which no caller can send: trigger-headers.ts) is
EventBridge's instead, as a schedule gives it to Lambda (ADR 0253): the scheduled event without a
payload, the payload's JSON with one (a rule's constant `Input`).
"""
import base64
import json
import time

from .event import Headers


def scheduled_event(e, tick: str):
    """EventBridge's event for a cron tick; None for a payload that is no JSON (API Gateway's then).
    `account` and `region` are the ones `context.invoked_function_arn` names (event.py); `resources`
    names the trigger as a rule, `id` is the run's (the same in each retried attempt, as EventBridge's)."""
    body = e["body"]
    if body:
        try:
            return json.loads(body)
        except ValueError:
            return None
    headers = e["headers"]
    trigger = headers.get("x-fp-trigger-id", "")
    return {
        "version": "0", "id": headers.get("x-fp-run-id") or e["requestId"], "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "000000000000", "time": tick.replace(".000Z", "Z"), "region": "local",
        "resources": [f"arn:fp:events:local:000000000000:rule/{trigger}"], "detail": {},
    }


def as_lambda_event(e) -> dict:
    """API Gateway's event for the platform's Event `e` (event.py); EventBridge's for a cron tick."""
    tick = e["headers"].get("x-fp-cron-tick")
    if tick is not None:
        scheduled = scheduled_event(e, tick)
        if scheduled is not None:
            return scheduled
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
    protocol = f"HTTP/{e.get('httpVersion') or '1.1'}"  # "HTTP/1.0" for an HTTP/1.0 request, as API Gateway says it
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
            "stage": "$default", "routeKey": "$default", "domainName": headers.get("host", ""), "protocol": protocol,
            "requestTimeEpoch": now, "timeEpoch": now,
            "identity": {"sourceIp": ip, "userAgent": agent},
            "http": {"method": method, "path": path, "protocol": protocol, "sourceIp": ip, "userAgent": agent},
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
