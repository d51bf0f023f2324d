"""The limit's Python side (bench/baseline/forwarder.ts): one process, one Unix socket, the
runtime's own frame codec (runtime/fp_runtime/frames.py) and its protocol v4 framing: each `invoke`
arrives as the fixed-position array the platform's gateway writes (docs/adr/0057), each reply
leaves as the `result` array, written by the runtime's own `encode_json_result` (what the
platform's runtime answers a handler's dict with). Reads whatever frames arrived, calls the
handler for each, writes all their replies in one send. Usage: forward_worker.py SOCKET RUNTIME_DIR
"""
import json
import os
import socket
import sys

sys.path.insert(0, sys.argv[2])
from fp_runtime.frames import INVOKE_ID, Decoder, encode_json_result, is_invoke, known_headers  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "hello"))
from main import handler  # noqa: E402

# The reply's status and headers, packed once (the runtime does the same for its JSON answers).
known_headers([["content-type", "application/json"]], json_200=True)


def serve(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    decoder = Decoder()
    while True:
        data = sock.recv(1 << 16)
        if not data:
            return
        replies = []
        for msg in decoder.feed(data):
            if not is_invoke(msg):
                raise SystemExit(f"forward_worker: not a v4 invoke frame: {msg!r:.200}")
            result = handler(msg, None)  # the hello handler reads nothing of its event
            replies.append(encode_json_result(msg[INVOKE_ID], json.dumps(result).encode(), [], 0.0))
        sock.sendall(b"".join(replies))


if __name__ == "__main__":
    serve(sys.argv[1])
