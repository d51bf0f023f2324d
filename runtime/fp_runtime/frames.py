"""Length-prefixed msgpack frames (4-byte big-endian length, then msgpack), as protocol/frames.ts."""
import struct
import threading

import msgpack

MAX_FRAME_BYTES = 64 * 1024 * 1024
PROTOCOL_VERSION = 3


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
    body = _packer().pack(message)
    return len(body).to_bytes(4, "big") + body


_LENGTH = struct.Struct(">I")
_DOUBLE = struct.Struct(">d").pack
# The constant runs of a `result` reply, as the Packer writes them for
# {"t": "result", "id": …, "response": …, "logs": …, "handlerMs": …} (keys in that order).
_RESULT_HEAD = b"\x85\xa1t\xa6result\xa2id"
_RESPONSE_KEY = b"\xa8response"
_NO_LOGS = b"\xa4logs\x90"
_LOGS_KEY = b"\xa4logs"
_HANDLER_MS_KEY = b"\xa9handlerMs\xcb"  # a float is packed as a float 64 (use_single_float off)
_FIXED = len(_RESULT_HEAD) + len(_RESPONSE_KEY) + len(_HANDLER_MS_KEY) + 8
_FIXED_LOGS = _FIXED + len(_LOGS_KEY)
_FIXED_NO_LOGS = _FIXED + len(_NO_LOGS)


_STATUS_KEY = b"\x83\xa6status"
_HEADERS_KEY = b"\xa7headers"
_BODY_KEY = b"\xa4body"
_NO_HEADERS = b"\x90"
_BIN8 = struct.Struct(">BB").pack
_BIN16 = struct.Struct(">BH").pack
_BIN32 = struct.Struct(">BI").pack
# Header lists the runtime answers with again and again (responses.py): the list object -> its bytes.
_KNOWN_HEADERS = {}


_JSON_200 = b""
_FIXED_JSON_LOGS = _FIXED_JSON_NO_LOGS = 0


def known_headers(headers: list, json_200: bool = False) -> None:
    """`headers` (a list never changed afterwards) is packed once, here, instead of per reply;
    `json_200`: they are the ones encode_json_result writes."""
    global _JSON_200, _FIXED_JSON_LOGS, _FIXED_JSON_NO_LOGS
    packed = msgpack.packb(headers, use_bin_type=True)
    _KNOWN_HEADERS[id(headers)] = (headers, packed)
    if json_200:
        _JSON_200 = _RESPONSE_KEY + _STATUS_KEY + msgpack.packb(200) + _HEADERS_KEY + packed + _BODY_KEY
        _FIXED_JSON_LOGS = _FIXED + len(_JSON_200) - len(_RESPONSE_KEY) + len(_LOGS_KEY)
        _FIXED_JSON_NO_LOGS = _FIXED + len(_JSON_200) - len(_RESPONSE_KEY) + len(_NO_LOGS)


def _pack_response(response, pack) -> bytes:
    """{status, headers, body} as the Packer writes it; the common shapes without the Packer."""
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
            return b"".join((_STATUS_KEY, pack(status), _HEADERS_KEY, packed_headers, _BODY_KEY, bin_head, body))
    return pack(response)


def encode_json_result(mid: int, body: bytes, logs: list, handler_ms: float) -> bytes:
    """encode_result for {status 200, the JSON content type, body}: what a handler returning a
    plain dict or list answers (responses.to_response), with that response's head a constant."""
    try:
        head = _packers.packer.pack(mid)
    except AttributeError:  # this thread's first reply
        head = _packer().pack(mid)
    n = len(body)
    bin_head = _BIN8(0xC4, n) if n < 0x100 else _BIN16(0xC5, n) if n < 0x10000 else _BIN32(0xC6, n)
    if logs:
        packed_logs = _packer().pack(logs)
        size = _FIXED_JSON_LOGS + len(head) + len(bin_head) + n + len(packed_logs)
        return b"".join((_LENGTH.pack(size), _RESULT_HEAD, head, _JSON_200, bin_head, body, _LOGS_KEY, packed_logs,
                         _HANDLER_MS_KEY, _DOUBLE(handler_ms)))
    size = _FIXED_JSON_NO_LOGS + len(head) + len(bin_head) + n
    return b"".join((_LENGTH.pack(size), _RESULT_HEAD, head, _JSON_200, bin_head, body, _NO_LOGS,
                     _HANDLER_MS_KEY, _DOUBLE(handler_ms)))


def encode_result(mid: int, response: dict, logs: list, handler_ms: float) -> bytes:
    """The frame of a `result` reply, byte for byte what encode() writes for its map, in one
    join: the constant keys and known header lists written once, the packer called for the
    small integers only (issue 11; test/unit/runtime-frames.test.ts compares the two)."""
    pack = _packer().pack
    head = pack(mid)
    resp = _pack_response(response, pack)
    tail = _DOUBLE(handler_ms)
    if logs:
        packed_logs = pack(logs)
        size = _FIXED_LOGS + len(head) + len(resp) + len(packed_logs)
        return b"".join((_LENGTH.pack(size), _RESULT_HEAD, head, _RESPONSE_KEY, resp, _LOGS_KEY, packed_logs,
                         _HANDLER_MS_KEY, tail))
    size = _FIXED_NO_LOGS + len(head) + len(resp)
    return b"".join((_LENGTH.pack(size), _RESULT_HEAD, head, _RESPONSE_KEY, resp, _NO_LOGS, _HANDLER_MS_KEY, tail))


_unpackb = msgpack.unpackb
_length_at = _LENGTH.unpack_from


class Decoder:
    """Incremental decoder: feed bytes, get messages (or BadFrame items) back."""

    __slots__ = ("buf",)

    def __init__(self):
        self.buf = bytearray()

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
        with memoryview(src) as view:
            while end - pos >= 4:
                n = _length_at(view, pos)[0]
                if n > MAX_FRAME_BYTES:
                    raise FrameTooLarge(f"frame of {n} bytes exceeds the {MAX_FRAME_BYTES} byte limit")
                if end - pos - 4 < n:
                    break
                try:
                    out.append(_unpackb(view[pos + 4:pos + 4 + n], raw=False, strict_map_key=False))
                except Exception as err:  # any decode failure is reported, never raised past here
                    out.append(BadFrame(f"undecodable frame: {type(err).__name__}: {err}"))
                pos += 4 + n
        if src is buf:
            del buf[:pos]
        elif pos < end:
            buf += data[pos:]
        return out
