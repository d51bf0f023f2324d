"""An ASGI app that raised: the caller gets the app's own answer, the owner the exception.

Starlette's ServerErrorMiddleware sends its `500 Internal Server Error` and then re-raises, as
ASGI servers expect; uvicorn logs the exception and, when the app sent nothing, answers a plain
500 itself. The runtime does the same: the reply is a `result` whose response is what the app
sent (or that plain 500) and whose `error` carries the exception for the run record only
(docs/runtime-protocol.md, "ASGI"; docs/api-invoke.md, "Errors"). Its message never reaches the
caller.
"""
from . import errors

PLAIN_500 = {
    "status": 500,
    "headers": [["content-type", "text/plain; charset=utf-8"], ["content-length", "21"]],
    "body": b"Internal Server Error",
}


# An error page larger than this is replaced by the plain 500 (the reply must fit in one frame).
MAX_ANSWER_BYTES = 1024 * 1024


class AppRaised(Exception):
    """Raised by asgi.call when the app raised; `response` is what it sent in full, or None."""

    def __init__(self, err: BaseException, response):
        super().__init__(str(err))
        self.err = err
        self.response = response


def result(mid: int, raised: AppRaised, user_dir, logs, handler_ms: float) -> dict:
    report = errors.report(raised.err, errors.USER_ERROR, user_dir)
    response = raised.response
    if response is None or len(response["body"]) > MAX_ANSWER_BYTES:
        response = dict(PLAIN_500)
    return {"t": "result", "id": mid, "response": response, "error": report, "logs": logs, "handlerMs": handler_ms}
