"""The limit's Python side (bench/baseline/forwarder.ts): one process, one Unix socket, the
runtime's own frame codec (runtime/fp_runtime/frames.py). Reads whatever frames arrived, calls the
handler for each, writes all their replies in one send. Usage: forward_worker.py SOCKET RUNTIME_DIR
"""
import json
import os
import socket
import sys

sys.path.insert(0, sys.argv[2])
from fp_runtime.frames import Decoder, encode  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "hello"))
from main import handler  # noqa: E402


def serve(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    # The limit's wire stays the v3 maps (ADR 0057): its frames are not made v4 arrays on the way in.
    decoder = Decoder(invoke_maps=False) if "invoke_maps" in Decoder.__slots__ else Decoder()
    while True:
        data = sock.recv(1 << 16)
        if not data:
            return
        replies = []
        for msg in decoder.feed(data):
            result = handler(msg["event"], None)
            replies.append(encode({"t": "result", "id": msg["id"], "status": 200, "body": json.dumps(result).encode()}))
        sock.sendall(b"".join(replies))


if __name__ == "__main__":
    serve(sys.argv[1])
