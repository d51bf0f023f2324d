"""Local test helpers: the event and context a function gets on the platform (docs/api-invoke.md).

Run the tests with `python -m pytest` in this folder (pip install pytest). They call the handler
directly, as the platform's runtime does, without the platform.
"""
import json
import logging
import time
import uuid

import pytest


class Event(dict):
    """The event as the platform builds it: Lambda-style keys, `json()` and `text()`."""

    def json(self):
        return json.loads(self["body"]) if self["body"] else None

    def text(self, encoding="utf-8"):
        return self["body"].decode(encoding)


class Context:
    def __init__(self, name="local", attempt=1, timeout_ms=30_000):
        self.request_id = self.run_id = self.aws_request_id = str(uuid.uuid4())
        self.function_name = name
        self.function_version = "local"
        self.attempt = attempt
        self.logger = logging.getLogger(name)
        self._deadline = time.monotonic() + timeout_ms / 1000

    @property
    def remaining_ms(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def make_event(method="GET", path="/", query=None, headers=None, body=b""):
    """An event; `body` may be bytes, str, or a dict/list (sent as JSON)."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers.setdefault("content-type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    query = query or {}
    return Event(method=method, path=path, query=query, multiQuery={k: [v] for k, v in query.items()},
                 headers=headers, multiHeaders={k: [v] for k, v in headers.items()}, body=body,
                 rawQuery="&".join(f"{k}={v}" for k, v in query.items()), requestId=str(uuid.uuid4()))


@pytest.fixture
def event():
    return make_event


@pytest.fixture
def context():
    return Context()
