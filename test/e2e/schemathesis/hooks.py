"""Schemathesis checks of our own (loaded through SCHEMATHESIS_HOOKS by test/e2e/api-schemathesis.test.ts).

registry_error: every answer of 400 or above is the registry's error body, `{"error": {"code", "message",
"component", ...}}`, with a code of protocol/errors.ts and the status the registry gives that code.
The test passes the registry as FP_ERROR_STATUSES (JSON: code -> [status, statusBy or null]; a
`statusBy` code's status follows one of its details, as protocol/errors.ts httpStatus() decides:
QUOTA_EXCEEDED is 403 for `quota: codeBytes`). The only 5xx allowed is
503 FUNCTION_PAUSED (schemathesis.toml lets 503 through `not_a_server_error` for it).
"""
import json
import os
import re

import schemathesis

STATUSES = json.loads(os.environ.get("FP_ERROR_STATUSES", "{}"))
# A paused function answers its test invoke with 503 by design; nothing else here may be a 5xx.
ALLOWED_5XX = {"FUNCTION_PAUSED"}


@schemathesis.check
def registry_error(ctx, response, case):
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} answer is not JSON: {response.content[:200]!r}")
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        raise AssertionError(f"{response.status_code} answer has no error object: {body!r}"[:300])
    code = error.get("code")
    if code not in STATUSES:
        raise AssertionError(f"error code {code!r} is not in the registry (protocol/errors.ts)")
    status, by = STATUSES[code]
    if by is not None and isinstance(error.get(by["field"]), str):
        status = by["values"].get(error[by["field"]], status)
    if status != response.status_code:
        raise AssertionError(f"{code} answered {response.status_code}; the registry says {status}")
    if not isinstance(error.get("message"), str) or not isinstance(error.get("component"), str):
        raise AssertionError(f"{code}: the error lacks message or component")
    if response.status_code >= 500 and code not in ALLOWED_5XX:
        raise AssertionError(f"server error {response.status_code} {code}: {error.get('message')}")
    return None


# What the pinned uWebSockets.js parser never passes to JavaScript and never answers: a header value
# with a C0 control character other than HTAB, and a header name with a character other than a
# letter, a digit or `-` (`_`, `.`, `~`, …). docs/gateway.md ("Malformed requests") and
# test/e2e/gateway-strictness.test.ts pin that; the fuzzer would wait out its timeout on each.
_UNANSWERED_VALUE_CHARS = {chr(c) for c in range(0x20) if c != 0x09}
_ANSWERED_NAME = re.compile(r"^[A-Za-z0-9-]+$")


@schemathesis.hook
def filter_headers(ctx, headers):
    if headers is None:
        return True
    for name, value in headers.items():
        if not _ANSWERED_NAME.match(str(name)):
            return False
        if isinstance(value, str) and any(ch in _UNANSWERED_VALUE_CHARS for ch in value):
            return False
    return True


# The test's watchdog stops a run that gets no answer for a while (a hang), not one that is slow:
# each answer touches the file it names.
_PROGRESS = os.environ.get("FP_PROGRESS_FILE")


@schemathesis.hook
def after_call(ctx, case, response):
    if _PROGRESS:
        try:
            os.utime(_PROGRESS)
        except OSError:
            pass
