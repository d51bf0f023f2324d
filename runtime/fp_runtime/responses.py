"""Turning a handler's return value into a wire response {status, headers, body}.

- a dict with "statusCode" is an explicit response: statusCode, headers (str or list values),
  body (str, bytes, None, or a dict/list sent as JSON), isBase64Encoded; Lambda's
  multiValueHeaders and cookies too;
- bytes / bytearray / memoryview pass through as application/octet-stream;
- None is 204 No Content;
- a Starlette (FastAPI) Response with its body (JSONResponse, HTMLResponse, PlainTextResponse,
  RedirectResponse, Response) is its status, headers and body, as uvicorn sends them;
- any other dict, list, str, number or bool becomes JSON with status 200;
- anything else raises BadReturn.
"""
import base64
import binascii
import inspect
import json
import re
import threading

from .errors import BadReturn
from .frames import MAX_FRAME_BYTES, known_headers

# A result must fit in one frame (the host rejects bigger ones) with room for logs and envelope.
MAX_RESPONSE_BYTES = MAX_FRAME_BYTES - 1024 * 1024


def too_big(size):
    """A handler's return value goes to the host in one frame; say the limit in MiB and what to do."""
    return BadReturn(f"response of {size} bytes ({size / 1048576:.1f} MiB) exceeds the {MAX_RESPONSE_BYTES} byte "
                     f"({MAX_RESPONSE_BYTES // 1048576} MiB) limit of a handler's return value: return less (a "
                     "reference to data kept in the data binding), or serve an ASGI app, whose responses stream at any size")


def _text_fits(text: str, more: int = 0) -> None:
    """A str over the limit is refused before it is encoded: its UTF-8 (and, for a JSON str, its
    escaped copy first) is at least as long, and those copies, three times a 100 MiB str, ended the
    instance past its memory limit (FUNCTION_OUT_OF_MEMORY) for a return value that is too big anyway
    (oddfn round)."""
    if len(text) + more > MAX_RESPONSE_BYTES:
        raise too_big(len(text) + more)

_JSON = [["content-type", "application/json"]]
JSON_HEADERS = _JSON  # never changed: invoke._fits knows its size, frames.py its bytes
_BINARY = [["content-type", "application/octet-stream"]]
known_headers(_JSON, json_200=True)
known_headers(_BINARY)


# One encoder for every call (json.dumps with options builds a new one each time: ~1 µs); it
# keeps no state between calls, so calls on several threads may share it.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
# What _ENCODER.encode does for a dict or list, without its Python layers (encode → iterencode):
# the C encoder made per call with a fresh `markers` map (circular references are still reported
# as ValueError, and a failed call leaves nothing behind for the next). ~0.9 → ~0.6 µs a call.
_C_MAKE_ENCODER = getattr(json.encoder, "c_make_encoder", None)


def _new_c_encoder():
    enc = _ENCODER
    return _C_MAKE_ENCODER({}, enc.default, json.encoder.encode_basestring, None, enc.key_separator,
                           enc.item_separator, enc.sort_keys, enc.skipkeys, enc.allow_nan)


# One C encoder kept for the calls (issue 11: making one is ~0.3 µs a call), used by one call at a
# time (`_kept_lock`, never waited for: a call that finds it taken, on another thread or
# re-entered, makes its own). Its `markers` map is empty again after every value it encoded; after
# a failure it may hold ids, so a failed encoder is dropped and the next call gets a new one.
_kept = [None]
_kept_lock = threading.Lock()


def _fast_encode(value) -> str:
    if not _kept_lock.acquire(False):
        return "".join(_new_c_encoder()(value, 0))
    try:
        encoder = _kept[0]
        if encoder is None:
            encoder = _kept[0] = _new_c_encoder()
        _kept[0] = None  # dropped unless it succeeds
        text = "".join(encoder(value, 0))
        _kept[0] = encoder
        return text
    finally:
        _kept_lock.release()


def _fast_path_works() -> bool:
    """The C encoder's signature is CPython's internals: used only if it gives what encode() gives."""
    if _C_MAKE_ENCODER is None:
        return False
    probe = {"a": [1, 2.5, None, True, "é\n"], "b": {"c": -0.0}}
    try:
        return _fast_encode(probe) == _ENCODER.encode(probe)
    except Exception:  # another Python's internals: the slow path is always right
        return False


_FAST = _fast_path_works()


def _encode(value) -> str:
    if _FAST and type(value) in (dict, list):
        return _fast_encode(value)
    return _ENCODER.encode(value)


def json_body(value) -> bytes:
    """_json_bytes of a plain dict or list (run_sync's usual return), in one call: the kept C
    encoder used inline (issue 11)."""
    if _FAST and _kept_lock.acquire(False):
        try:
            encoder = _kept[0]
            if encoder is None:
                encoder = _new_c_encoder()
            _kept[0] = None  # dropped unless it succeeds
            text = "".join(encoder(value, 0))
            _kept[0] = encoder
            return text.encode()
        except _NOT_JSON as err:
            raise BadReturn(_not_json(err)) from None
        finally:
            _kept_lock.release()
    return _json_bytes(value)


# What encoding a return value raises for a value JSON cannot hold: a type it does not know or a
# circular reference (TypeError, ValueError), nesting deeper than the interpreter's recursion limit
# (RecursionError), a lone surrogate in a str (UnicodeEncodeError, a ValueError).
_NOT_JSON = (TypeError, ValueError, RecursionError)


def _json_bytes(value) -> bytes:
    try:
        return _encode(value).encode()
    except _NOT_JSON as err:
        raise BadReturn(_not_json(err)) from None


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError as err:
        raise BadReturn(f"{what} is not valid text: {err}") from None


def _not_json(err: Exception) -> str:
    hint = ""
    if isinstance(err, RecursionError):
        hint = " (nested deeper than Python's recursion limit: flatten it)"
    elif isinstance(err, UnicodeEncodeError):
        hint = " (a lone surrogate, as from decoding with errors='surrogateescape', cannot be sent)"
    elif isinstance(err, TypeError) and "Object of type ObjectId " in str(err):
        # Documents as pymongo gives them (context.db): the `_id` is what fails first.
        hint = ("; a Mongo document's `_id` is an ObjectId: leave it out with the projection {\"_id\": 0}"
                " (find(query, {\"_id\": 0})) or convert it (str(doc[\"_id\"])); a datetime with .isoformat()")
    elif isinstance(err, TypeError) and str(err).startswith("keys must be "):
        hint = "; a dict's keys become JSON names: convert them first, e.g. {str(k): v for k, v in value.items()}"
    elif isinstance(err, TypeError) and "is not JSON serializable" in str(err):
        hint = "; convert such values first (str(value), value.isoformat() for a datetime, float(value) for a Decimal, list(value) for a set)"
    elif "Out of range float" in str(err):
        hint = " (NaN or infinity, which JSON cannot hold: send None or a str instead)"
    return f"return value is not JSON-serialisable: {err}{hint}"


# RFC 9110 token for names; values without control characters other than HTAB (CR/LF/NUL would
# inject headers; ESC, DEL and the rest end up in logs and terminals). The gateway checks again.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _header(out: list, key: str, text: str) -> None:
    if not _TOKEN.fullmatch(key):
        raise BadReturn(f"header name {key!r} is not a valid token")
    bad = _CONTROL.search(text)
    if bad:
        raise BadReturn(f"header {key} contains the control character 0x{ord(bad.group()):02x}; "
                        "only HTAB is allowed in header values")
    out.append([key, text])


def _header_text(key: str, value) -> str:
    """A handler's header value as the text sent. Not str() of everything: bytes went out as their
    repr (`b'abc'`) and a bool as `True` (oddfn round); None is no header (below), as requests
    and httpx leave out a header whose value is None."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"  # as JSON (and so API Gateway) writes it
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("ascii")
        except UnicodeDecodeError:
            raise BadReturn(f"header {key} is bytes past ASCII: send text (value.decode() for UTF-8)") from None
    return str(value)


def _headers(raw) -> list:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise BadReturn("headers must be a dict")
    out = []
    seen = set()
    for name, value in raw.items():
        key = str(name).lower()
        if key in seen:
            # {"Content-Type": ..., "content-type": ...} (defaults merged with the app's own): the later
            # key replaces the earlier, as a dict of header names means; both went out (oddfn round).
            out = [pair for pair in out if pair[0] != key]
        seen.add(key)
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if v is not None:
                _header(out, key, _header_text(key, v))
    return out


def _is_asgi_response(value) -> bool:
    """A Starlette Response (FastAPI's): an int `status_code` and the `raw_headers` it sends."""
    return isinstance(getattr(value, "status_code", None), int) and isinstance(getattr(value, "raw_headers", None), list)


def _asgi_response(value) -> dict:
    """A Starlette Response returned by a handler, as uvicorn would send it: its status, its
    headers (its content-type and set-cookie ones included; the gateway frames the body and drops
    content-length) and its body. Header values are Latin-1 bytes there: they go out as those bytes
    (`latin1`, as an ASGI app's do). One without a body (StreamingResponse, FileResponse: their
    ASGI call sends it) or with a background task (run only by an ASGI server) is refused."""
    kind = type(value).__name__
    body = getattr(value, "body", None)
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise BadReturn(f"cannot send {_a(kind)} {kind} from a handler: it has no body of its own (its ASGI call "
                        "streams it); serve an ASGI app (entrypoint: main:app, a FastAPI app) to stream or "
                        "send files, or return its content as bytes")
    if getattr(value, "background", None) is not None:
        raise BadReturn(f"the {kind} returned has a background task, which only an ASGI server runs: serve an "
                        "ASGI app (entrypoint: main:app, a FastAPI app) for background tasks, or run the work "
                        "before returning")
    status = value.status_code
    if isinstance(status, bool) or not 200 <= status <= 599:
        raise BadReturn(f"status_code must be an integer from 200 to 599, got {status!r}{_INFORMATIONAL if 100 <= status < 200 else ''}")
    headers, latin1 = [], False
    for name, raw in value.raw_headers:
        text = bytes(raw).decode("latin-1")
        latin1 = latin1 or not text.isascii()
        _header(headers, bytes(name).decode("latin-1").lower(), text)
    out = {"status": status, "headers": headers, "body": bytes(body)}
    if latin1:
        out["latin1"] = True
    return out


# A 1xx is no final answer (the gateway refused it with "from 200 to 599" where this said 100: oddfn round).
_INFORMATIONAL = " (a 1xx status is informational, never a response of its own)"


def _lambda_headers(value: dict, headers: list) -> list:
    """Lambda's other two header keys, which a handler written for API Gateway or a function URL
    returns: `multiValueHeaders` ({name: [values]}; a name there replaces the same name of
    `headers`, as API Gateway merges them) and `cookies` (a list of Set-Cookie values)."""
    multi = _headers(value.get("multiValueHeaders"))
    if multi:
        names = {h[0] for h in multi}
        headers = [h for h in headers if h[0] not in names] + multi
    cookies = value.get("cookies")
    if cookies is not None:
        if not isinstance(cookies, (list, tuple)):
            raise BadReturn("cookies must be a list of Set-Cookie values")
        headers = headers + _headers({"set-cookie": list(cookies)})
    return headers


def _explicit(value: dict) -> dict:
    status = value.get("statusCode")
    if isinstance(status, str) and len(status) == 3 and status.isascii() and status.isdigit():
        status = int(status)  # API Gateway takes "200" as 200: Lambda code returns it so
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        hint = _INFORMATIONAL if isinstance(status, int) and 100 <= status < 200 else ""
        raise BadReturn(f"statusCode must be an integer from 200 to 599 (or its three digits as a string), got {status!r}{hint}")
    headers = _headers(value.get("headers"))
    if "multiValueHeaders" in value or "cookies" in value:
        headers = _lambda_headers(value, headers)
    body = value.get("body")
    if body is None:
        data = b""
    elif isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
    elif isinstance(body, str):
        if not _base64_flag(value.get("isBase64Encoded")):
            _text_fits(body)
            data = _utf8(body, "body")
        else:
            data = _base64(body)
    elif isinstance(body, (dict, list)):
        data = _json_bytes(body)
        if not any(h[0] == "content-type" for h in headers):
            headers.extend(_JSON)
    else:
        raise BadReturn(f"body must be str, bytes, dict, list or None, got {type(body).__name__}")
    return {"status": status, "headers": headers, "body": data}


# ASCII whitespace: line breaks of base64.encodebytes (MIME, every 76 characters) and spaces.
_B64_SPACE = re.compile(r"[ \t\r\n\f\v]+")


def _base64_flag(flag) -> bool:
    """`isBase64Encoded` as meant: a bool, None (absent), or "true"/"false" in any case (JSON
    encoders of other languages write those, and API Gateway's parser takes them). Anything else,
    e.g. "False " or 1, is bad_return: a non-empty str is true in Python, so "false" decoded the
    body as base64 (oddfn round, left open; ADR 0196)."""
    if flag is None or isinstance(flag, bool):
        return bool(flag)
    if isinstance(flag, str) and flag.lower() in ("true", "false"):
        return flag.lower() == "true"
    raise BadReturn(f"isBase64Encoded must be true or false, got {flag!r}")


def _base64(body: str) -> bytes:
    """An `isBase64Encoded` body, checked: b64decode without validate skips every character outside
    the alphabet, so "!!!" went out as an empty 200 and url-safe base64 (`-`, `_`) lost those
    characters' bits, both silently (oddfn round). Line breaks and spaces are allowed (encodebytes
    writes them), as API Gateway's decoder allows them."""
    spaces = sum(body.count(c) for c in " \t\r\n\f\v")  # counted, not copied
    decoded = (len(body) - spaces) // 4 * 3 - 2  # at least this many bytes, if it decodes at all
    if decoded > MAX_RESPONSE_BYTES:
        # Refused before its copies (the text without spaces, its ASCII bytes, the decoded bytes):
        # a 90 MiB body ended the instance past its memory limit (FUNCTION_OUT_OF_MEMORY, the
        # call's siblings with it) for a value too big anyway, as a str's encoding did (red team round 40).
        raise too_big(decoded)
    try:
        return base64.b64decode(_B64_SPACE.sub("", body) if spaces else body, validate=True)
    except (binascii.Error, ValueError) as err:
        hint = ""
        if "Only base64 data" in str(err):
            err = "a character outside the base64 alphabet (A-Z, a-z, 0-9, +, / and = at the end)"
        if "-" in body or "_" in body:
            hint = " (it has '-' or '_': url-safe base64; send base64.b64encode(data).decode(), the standard alphabet)"
        raise BadReturn(f"isBase64Encoded is true but body is not base64: {err}{hint}") from None


def to_response(value) -> dict:
    if isinstance(value, dict):
        if "statusCode" in value:
            return _explicit(value)
        return {"status": 200, "headers": _JSON, "body": _json_bytes(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"status": 200, "headers": _BINARY, "body": bytes(value)}
    if value is None:
        return {"status": 204, "headers": [], "body": b""}
    if isinstance(value, (list, str, int, float, bool)):
        if type(value) is str:
            _text_fits(value, 2)  # its quotes
        return {"status": 200, "headers": _JSON, "body": _json_bytes(value)}
    if _is_asgi_response(value):
        return _asgi_response(value)
    raise BadReturn(_cannot(value))


_RETURNS = ("return a dict, list, str, number, bool, bytes or None, or "
            "{\"statusCode\": 201, \"headers\": {...}, \"body\": ...} (docs/api-invoke.md, \"Return value\")")


def _cannot(value) -> str:
    """Why `value` is no response, and what to return instead: the cases a newcomer writes."""
    kind = type(value).__name__
    if inspect.isgenerator(value) or inspect.isasyncgen(value):
        kind = "an async generator" if inspect.isasyncgen(value) else "a generator"
        return (f"the handler returned {kind} (it yields); a handler's return value is the whole "
                "response (handlers are not streamed); return the body at once, e.g. \"\".join(...), "
                "or serve an ASGI app with a StreamingResponse to stream")
    if isinstance(value, tuple):
        return (f"cannot turn a tuple of {len(value)} into a response (Flask's `return body, 201` is not "
                "how a status is set here): return {\"statusCode\": 201, \"body\": body} for a status, "
                "or a list for a JSON array")
    if isinstance(value, (set, frozenset)):
        return f"cannot turn a {kind} into a response: return a list (e.g. sorted(value)) for a JSON array"
    if inspect.iscoroutine(value):
        value.close()  # never run: no "was never awaited" warning in the logs besides this error
        return ("the handler returned a coroutine, a call of an async function that was never awaited: "
                "write `return await f(...)` in an `async def handler`")
    if callable(getattr(value, "model_dump", None)):  # a pydantic (v2) model
        return (f"cannot turn {_a(kind)} {kind} (a pydantic model) into a response: "
                "return value.model_dump(mode=\"json\")")
    if hasattr(type(value), "__dataclass_fields__"):  # a dataclass instance (dataclasses.is_dataclass, without the import)
        return (f"cannot turn {_a(kind)} {kind} (a dataclass) into a response: return dataclasses.asdict(value) "
                "(its fields must be JSON values too)")
    return f"cannot turn {_a(kind)} {kind} into a response: {_RETURNS}"


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
