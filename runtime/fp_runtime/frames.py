"""Length-prefixed msgpack frames (4-byte big-endian length, then msgpack), as protocol/frames.ts.

Protocol v4 (docs/adr/0057-fixed-position-frames.md): `invoke` and `result` are msgpack arrays
with a fixed position per field, defined here (INVOKE_*, RESULT_*) and, for TypeScript, in
protocol/wire-arrays.ts; test/unit/wire-arrays.test.ts pins the two against each other.
"""
import math
import struct
import threading

import msgpack

MAX_FRAME_BYTES = 64 * 1024 * 1024
PROTOCOL_VERSION = 6  # 5: WebSocket connections (websocket.py); 6: an invoke's HTTP version (below)
# The gateway refuses an answer with more headers (FUNCTION_RESPONSE_HEADERS_TOO_LARGE,
# gateway/responses.ts MAX_RESPONSE_HEADERS): one more than that goes, not the rest, so the
# gateway's event loop does not decode tens of thousands of them to say so (red team 6).
MAX_RESPONSE_HEADERS = 1000


def bounded_headers(response: dict) -> dict:
    """`response` with at most MAX_RESPONSE_HEADERS + 1 headers (the same dict when it has fewer)."""
    headers = response.get("headers")
    if type(headers) is list and len(headers) > MAX_RESPONSE_HEADERS:
        return {**response, "headers": headers[:MAX_RESPONSE_HEADERS + 1]}
    return response

# The `invoke` array (host -> runtime): [tag, id, context requestId, timeoutMs, attempt, method,
# path, rawQuery, query (flat [name, value, ...]), headers (flat), requestId, rootPath | nil,
# scheme | nil, client ([host, port]) | nil, body].
INVOKE_TAG = "invoke"
INVOKE_ID = 1
INVOKE_CONTEXT_REQUEST_ID = 2
INVOKE_TIMEOUT_MS = 3
INVOKE_ATTEMPT = 4
INVOKE_METHOD = 5
INVOKE_PATH = 6
INVOKE_RAW_QUERY = 7
INVOKE_QUERY = 8
INVOKE_HEADERS = 9
INVOKE_REQUEST_ID = 10
INVOKE_ROOT_PATH = 11
INVOKE_SCHEME = 12
INVOKE_CLIENT = 13
INVOKE_BODY = 14
INVOKE_LENGTH = 15
# Protocol v6 (ADR 0260): an HTTP/1.0 request's `invoke` has one element more, after the body: its
# version, "1.0" (the ASGI scope's `http_version`). An HTTP/1.1 call's array is as before.
INVOKE_HTTP_VERSION = 15

# The `result` array (runtime -> host): [tag, id, status, headers ([[name, value], ...]), body,
# latin1 (true | nil), logs, handlerMs, error | nil].
RESULT_TAG = "result"
RESULT_LENGTH = 9


class FrameTooLarge(Exception):
    """A length prefix over the limit: the stream cannot be resynchronised."""


class BadFrame(Exception):
    """A frame whose body is not msgpack: the stream stays usable."""


# One Packer per thread, kept: `msgpack.packb` makes a Packer (and its buffer) for every message,
# ~1.8 µs for a reply where a kept one takes ~1.0 (issue 11). Not shared between threads (a
# Packer is not thread-safe: calls on a pool, the log flusher); a Packer that raised is reset.
_packers = threading.local()


def _packer():
    packer = getattr(_packers, "packer", None)
    if packer is None:
        # "replace": a lone surrogate (e.g. printed from a surrogateescape-decoded name) must not
        # make a reply unsendable; it arrives as "?".
        packer = _packers.packer = msgpack.Packer(use_bin_type=True, unicode_errors="replace")
    return packer


def encode(message) -> bytes:
    if type(message) is dict and message.get("t") == RESULT_TAG and type(message.get("response")) is dict:
        message = result_array(message)  # protocol v4: a result goes as its array, whoever built it
    body = _packer().pack(message)
    return len(body).to_bytes(4, "big") + body


_LENGTH = struct.Struct(">I")
_DOUBLE = struct.Struct(">d").pack
# The constant runs of a `result` array (RESULT_* above), as the Packer writes them.
_RESULT_HEAD = b"\x99\xa6result"  # fixarray of RESULT_LENGTH, then the tag
_NIL = b"\xc0"
_TRUE = b"\xc3"
_NO_LOGS = b"\x90"
_HANDLER_MS = b"\xcb"  # a float is packed as a float 64 (use_single_float off)
_FIXED = len(_RESULT_HEAD) + len(_HANDLER_MS) + 8 + len(_NIL)  # the head, handlerMs, error (nil)

_NO_HEADERS = b"\x90"
_BIN8 = struct.Struct(">BB").pack
_BIN16 = struct.Struct(">BH").pack
_BIN32 = struct.Struct(">BI").pack
# Header lists the runtime answers with again and again (responses.py): the list object -> its bytes.
_KNOWN_HEADERS = {}


_JSON_200 = b""


def known_headers(headers: list, json_200: bool = False) -> None:
    """`headers` (a list never changed afterwards) is packed once, here, instead of per reply;
    `json_200`: they are the ones encode_json_result writes."""
    global _JSON_200
    packed = msgpack.packb(headers, use_bin_type=True)
    _KNOWN_HEADERS[id(headers)] = (headers, packed)
    if json_200:
        _JSON_200 = msgpack.packb(200) + packed  # status, headers; the body follows


def _pack_response(response, pack) -> tuple:
    """A response's positions of the result array (status, headers, body, latin1), as the Packer
    writes them, in parts for the frame's one join (a large body is copied once, not twice); the
    common shapes without the Packer."""
    if len(response) == 3 and type(response.get("body")) is bytes:
        status = response.get("status")
        headers = response.get("headers")
        if type(status) is int and type(headers) is list and 0 <= status < 0x10000 and "headers" in response:
            known = _KNOWN_HEADERS.get(id(headers))
            if known is not None and known[0] is headers:
                packed_headers = known[1]
            elif not headers:
                packed_headers = _NO_HEADERS
            else:
                packed_headers = pack(headers)
            body = response["body"]
            n = len(body)
            bin_head = _BIN8(0xC4, n) if n < 0x100 else _BIN16(0xC5, n) if n < 0x10000 else _BIN32(0xC6, n)
            return (pack(status), packed_headers, bin_head, body, _NIL)
    get = response.get
    return (_pack_status(get("status"), pack), pack(get("headers") or []), pack(get("body") or b""),
            _TRUE if get("latin1") else _NIL)


def _pack_status(status, pack) -> bytes:
    """The status as the Packer writes it. One it cannot write goes as a number the gateway refuses
    as it refuses any status that is not an integer from 200 to 599 (502 FUNCTION_BAD_RESPONSE,
    the value in the run record; the wire's status is always a number): an integer past 64 bits
    as a float (infinity past a float's range), anything else (an object) as NaN. Before, the
    reply raised outside the call's handling: the caller waited the function's whole timeout for a
    504, the call counted busy on its instance meanwhile (differential fuzzing against uvicorn, diff1:
    `RedirectResponse(url, status_code=2**64)`). Never calls the app's own code (no repr, no str)."""
    try:
        return pack(status)
    except (OverflowError, TypeError, ValueError):
        if isinstance(status, int):
            try:
                return pack(float(status))
            except OverflowError:
                return pack(math.inf)
        return pack(math.nan)


def encode_json_result(mid: int, body: bytes, logs: list, handler_ms: float) -> bytes:
    """encode_result for {status 200, the JSON content type, body}: what a handler returning a
    plain dict or list answers (responses.to_response), with that response's head a constant."""
    try:
        head = _packers.packer.pack(mid)
    except AttributeError:  # this thread's first reply
        head = _packer().pack(mid)
    n = len(body)
    bin_head = _BIN8(0xC4, n) if n < 0x100 else _BIN16(0xC5, n) if n < 0x10000 else _BIN32(0xC6, n)
    packed_logs = _packer().pack(logs) if logs else _NO_LOGS
    size = _FIXED + len(head) + len(_JSON_200) + len(bin_head) + n + 1 + len(packed_logs)
    return b"".join((_LENGTH.pack(size), _RESULT_HEAD, head, _JSON_200, bin_head, body, _NIL, packed_logs,
                     _HANDLER_MS, _DOUBLE(handler_ms), _NIL))


def encode_result(mid: int, response: dict, logs: list, handler_ms: float, error=None) -> bytes:
    """The frame of a `result` reply (the RESULT_* array), byte for byte what encode() writes for
    that array, in one join: known header lists written once, the packer called for the small
    integers only (issue 11; test/unit/runtime-frames.test.ts compares the two)."""
    pack = _packer().pack
    head = pack(mid)
    resp = _pack_response(response, pack)
    packed_logs = pack(logs) if logs else _NO_LOGS
    tail = _NIL if error is None else pack(error)
    size = _FIXED - 1 + len(tail) + len(head) + sum(map(len, resp)) + len(packed_logs)
    return b"".join((_LENGTH.pack(size), _RESULT_HEAD, head, *resp, packed_logs, _HANDLER_MS,
                     _DOUBLE(handler_ms), tail))


# A `chunk` map as the host decodes it in place (protocol/frames.ts: `t` first), its body last so
# that the frame is its head and the body's bytes, joined once.
_CHUNK_HEAD = b"\x84\xa1t\xa5chunk\xa2id"
_CHUNK_MORE = (b"\xa4more\xc2\xa4body", b"\xa4more\xc3\xa4body")


def encode_chunk(mid: int, piece, more: bool) -> bytes:
    """The frame of a `chunk` message ({"t": "chunk", "id", "more", "body"}), `piece` any bytes-like
    object (a memoryview of the app's bytes: copied once, into the frame)."""
    n = len(piece)
    head = b"".join((_CHUNK_HEAD, _packer().pack(mid), _CHUNK_MORE[bool(more)], _BIN32(0xC6, n)))
    return b"".join((_LENGTH.pack(len(head) + n), head, piece))


def result_array(message: dict) -> list:
    """A `result` message (the map form the async path builds) as its array."""
    response = message["response"]
    return [RESULT_TAG, message["id"], response.get("status"), response.get("headers") or [],
            response.get("body") or b"", True if response.get("latin1") else None, message.get("logs") or [],
            float(message.get("handlerMs") or 0.0), message.get("error")]


def invoke_array(message: dict):
    """An `invoke` in the map form (protocol v3; tests and hand-written hosts still send it) as
    its array, or None when it is not a well-formed one (main._check then reports it)."""
    event = message.get("event")
    context = message.get("context") or {}
    if type(message.get("id")) is not int or type(event) is not dict or type(context) is not dict:
        return None
    get = event.get

    def flat(pairs):
        return [item for pair in pairs or () for item in pair]

    a = [INVOKE_TAG, message["id"], context.get("requestId", ""), context.get("timeoutMs", 0),
         context.get("attempt", 1), get("method", "GET"), get("path", "/"), get("rawQuery", ""),
         flat(get("query")), flat(get("headers")), get("requestId", ""), get("rootPath"), get("scheme"),
         get("client"), get("body") or b""]
    if get("httpVersion") is not None:
        a.append(get("httpVersion"))
    return a


def is_invoke(a) -> bool:
    """True for a well-formed `invoke` array (what the serve loops run)."""
    return (type(a) is list and (len(a) == INVOKE_LENGTH or versioned(a)) and a[0] == INVOKE_TAG and type(a[1]) is int
            and type(a[INVOKE_QUERY]) is list and type(a[INVOKE_HEADERS]) is list)


def versioned(a: list) -> bool:
    """An array of the length of an HTTP/1.0 request's `invoke`, its version where it belongs
    (checked after the usual length: an HTTP/1.1 call never gets here)."""
    return len(a) == INVOKE_LENGTH + 1 and a[INVOKE_HTTP_VERSION] == "1.0"


def http_version(a) -> str:
    """The request's HTTP version of a well-formed `invoke` array: "1.1" unless it says otherwise."""
    return a[INVOKE_HTTP_VERSION] if len(a) > INVOKE_LENGTH else "1.1"


def invoke_message(a) -> dict:
    """A well-formed `invoke` array as the map form's message (the async and ASGI paths read it;
    query and headers back as lists of pairs)."""
    q = iter(a[INVOKE_QUERY])
    h = iter(a[INVOKE_HEADERS])
    event = {"method": a[INVOKE_METHOD], "path": a[INVOKE_PATH], "rawQuery": a[INVOKE_RAW_QUERY],
             "query": [[k, v] for k, v in zip(q, q)], "headers": [[k, v] for k, v in zip(h, h)],
             "requestId": a[INVOKE_REQUEST_ID], "body": a[INVOKE_BODY]}
    if a[INVOKE_ROOT_PATH] is not None:
        event["rootPath"] = a[INVOKE_ROOT_PATH]
    if a[INVOKE_SCHEME] is not None:
        event["scheme"] = a[INVOKE_SCHEME]
    if a[INVOKE_CLIENT] is not None:
        event["client"] = a[INVOKE_CLIENT]
    if len(a) > INVOKE_LENGTH:
        event["httpVersion"] = a[INVOKE_HTTP_VERSION]
    return {"t": "invoke", "id": a[INVOKE_ID], "event": event,
            "context": {"requestId": a[INVOKE_CONTEXT_REQUEST_ID], "timeoutMs": a[INVOKE_TIMEOUT_MS],
                        "attempt": a[INVOKE_ATTEMPT]}}


_unpackb = msgpack.unpackb
_length_at = _LENGTH.unpack_from


class Decoder:
    """Incremental decoder: feed bytes, get messages (or BadFrame items) back. `invoke_maps`: a v3
    map `invoke` is returned as its v4 array (what the serve loops read); off for a reader that
    takes the map as it is."""

    __slots__ = ("buf", "invoke_maps")

    def __init__(self, invoke_maps=True):
        self.buf = bytearray()
        self.invoke_maps = invoke_maps

    def feed(self, data) -> list:
        # Frames are decoded where they lie (views, no copy per frame); only an unfinished frame's
        # bytes are kept for the next feed. Nothing is kept at all when `data` ends on a frame's
        # end, the usual case (issue 11).
        buf = self.buf
        if buf:
            buf += data
            src = buf
        else:
            src = data
        out = []
        pos = 0
        end = len(src)
        invoke_maps = self.invoke_maps
        with memoryview(src) as view:
            while end - pos >= 4:
                n = _length_at(view, pos)[0]
                if n > MAX_FRAME_BYTES:
                    raise FrameTooLarge(f"frame of {n} bytes exceeds the {MAX_FRAME_BYTES} byte limit")
                if end - pos - 4 < n:
                    break
                try:
                    m = _unpackb(view[pos + 4:pos + 4 + n], raw=False, strict_map_key=False)
                    if invoke_maps and type(m) is dict and m.get("t") == INVOKE_TAG:
                        # The v3 map form of invoke, still read (tests, hand-written hosts): as its array.
                        m = invoke_array(m) or m
                    out.append(m)
                except Exception as err:  # any decode failure is reported, never raised past here
                    out.append(BadFrame(f"undecodable frame: {type(err).__name__}: {err}"))
                pos += 4 + n
        if src is buf:
            del buf[:pos]
        elif pos < end:
            buf += data[pos:]
        return out
