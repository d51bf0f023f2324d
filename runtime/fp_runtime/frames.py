"""Length-prefixed msgpack frames (4-byte big-endian length, then msgpack), as protocol/frames.ts."""
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


class Decoder:
    """Incremental decoder: feed bytes, get messages (or BadFrame items) back."""

    __slots__ = ("buf",)

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data) -> list:
        buf = self.buf
        buf += data
        out = []
        while len(buf) >= 4:
            n = int.from_bytes(buf[:4], "big")
            if n > MAX_FRAME_BYTES:
                raise FrameTooLarge(f"frame of {n} bytes exceeds the {MAX_FRAME_BYTES} byte limit")
            if len(buf) < 4 + n:
                break
            body = bytes(buf[4 : 4 + n])
            del buf[: 4 + n]
            try:
                out.append(msgpack.unpackb(body, raw=False, strict_map_key=False))
            except Exception as err:  # any decode failure is reported, never raised past here
                out.append(BadFrame(f"undecodable frame: {type(err).__name__}: {err}"))
        return out
