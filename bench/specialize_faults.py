"""Minor faults and time of a specialize in forked children of a process preloaded like the zygote.

    .venv/bin/python bench/specialize_faults.py [runtime dir] [n]

Run it with two checkouts' runtime/ directories, alternately, to compare them (bench/README.md
section 3f). The preload is that runtime's own `zygote.preload("default")` (with whatever it does
ahead), then `gc.freeze()`; each child specializes a fresh pre-compiled `hello` version (no box:
no privileges needed) and runs its first sync call, counting `ru_minflt` and the time of each
step. Prints the medians of n children per step, then the whole.
"""
import gc
import importlib
import importlib.util
import json
import logging
import os
import py_compile
import resource
import statistics
import sys
import tempfile
import time

RUNTIME = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "runtime"))
N = int(sys.argv[2]) if len(sys.argv) > 2 else 40
sys.path.insert(0, RUNTIME)
from fp_runtime import zygote  # noqa: E402

zygote.preload("default")
from fp_runtime import capture, frames, specialize  # noqa: E402
from fp_runtime.flusher import Flusher  # noqa: E402
from fp_runtime.invoke import run_sync  # noqa: E402
from fp_runtime.main import _check, _specialized  # noqa: E402

SOURCE = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi'}\n"
STEPS = ("decode + check", "capture.begin", "realpath", "environment", "chdir + sys.path", "capture.install",
         "flusher.install", "memory limit", "import", "contract + Loaded", "specialized encoded", "first call")


class _NoConn:
    def send_built(self, build, timeout=-1):
        return True


def child(frame):
    stamps = []

    def mark():
        stamps.append((time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt))

    mark()
    msgs = frames.Decoder().feed(frame)
    _check(msgs[0])
    mark()
    cap, token = capture.begin()
    mark()
    spec = msgs[0]["fn"]
    flusher = Flusher(_NoConn())
    directory = os.path.realpath(spec["dir"])
    module_name, _, attr = spec["entrypoint"].partition(":")
    mark()
    os.environ.update({str(k): str(v) for k, v in spec["env"].items()})
    mark()
    os.chdir(directory)
    sys.path.insert(0, directory)
    mark()
    capture.install(logging.INFO)
    mark()
    flusher.install()
    mark()
    specialize.limit_memory(int(spec["memoryBytes"]), flusher.RESERVE_BYTES)
    mark()
    module = importlib.import_module(module_name)
    mark()
    target = getattr(module, attr)
    loaded = specialize.Loaded(spec, target, *specialize._contract(target))
    mark()
    frames.encode(_specialized(msgs[0], loaded, capture.end(cap, token), stamps[0][0]))
    mark()
    run_sync(loaded, msgs[1])
    mark()
    return [[(stamps[i + 1][0] - stamps[i][0]) * 1e6, stamps[i + 1][1] - stamps[i][1]] for i in range(len(stamps) - 1)]


def main():
    root = tempfile.mkdtemp(prefix="fp-faults-")
    gc.collect()
    gc.freeze()
    results = []
    for i in range(N):
        d = os.path.join(root, f"f{i}")
        os.mkdir(d)
        path = os.path.join(d, "main.py")
        with open(path, "w") as out:
            out.write(SOURCE)
        py_compile.compile(path, cfile=importlib.util.cache_from_source(path))
        fn = {"name": f"f{i}", "version": "v1", "dir": d, "entrypoint": "main:handler",
              "memoryBytes": 256 << 20, "env": {"A": "b"}}
        frame = frames.encode({"t": "specialize", "id": 1, "fn": fn}) + frames.encode(
            ["invoke", 2, "r", 1000, 1, "GET", "/", "", [], [], "r", "", "http", None, None])
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.write(w, json.dumps(child(frame)).encode())
            os._exit(0)
        os.close(w)
        data = b""
        while chunk := os.read(r, 65536):
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)
        results.append(json.loads(data))
    for j, name in enumerate(STEPS):
        print(f"{name:22} {statistics.median(x[j][0] for x in results):8.0f} µs {statistics.median(x[j][1] for x in results):5.0f} faults")
    print(f"{'whole':22} {statistics.median(sum(s[0] for s in x) for x in results):8.0f} µs "
          f"{statistics.median(sum(s[1] for s in x) for x in results):5.0f} faults   ({RUNTIME}, n {N}, load {os.getloadavg()[0]:.2f})")


main()
