"""The specialize path, rehearsed in a zygote before it forks anything (docs/adr/0061-specialize-rehearsed-in-the-zygote.md).

A runtime forked from a zygote runs its specialize and first call for the first time in a fresh
fork. On CPython 3.11 the first runs of a function write into its code object: a call counter
until the function is quickened (8 calls), then each adaptive instruction's counter and inline
cache until it is specialized. In a fork each of those writes is a copy-on-write fault on a page
shared with the zygote (~3 µs here, bench/README.md section 3d). Run here, in the zygote, enough
times for the interpreter to settle, those writes are made once in memory every fork shares: a
child's specialize no longer rewrites their bytecode (the reference counts it writes remain).

Only the platform's own code runs, on a throwaway module this writes itself; nothing of any
function exists yet. Everything the rehearsal changes is undone before it returns (the module,
its directory and its path entries, its logger, the capture's context, `tempfile`'s directory: its
`mkdtemp` chose and kept one from the zygote's environment, so every runtime's `tempfile` ignored
the function's own TMPDIR), and the steps that would
change the process for good are not rehearsed: the box (mounts, identity, seccomp), the stdout
proxies and log handler (capture.install), the flusher's exit hook and the memory limit's
setrlimit.
"""
import importlib
import logging
import os
import resource
import shutil
import sys
import tempfile
import time

from . import capture, main, specialize
from .flusher import Flusher
from .frames import Decoder, encode
from .invoke import run_sync

# Well past what CPython 3.11 needs to quicken every function on the path (8 calls) and for its
# adaptive instructions to try to specialize (after their first executions, then with backoff);
# not tuned: ~30 ms once per zygote at load ~10 (first round included). Effect: bench/README.md
# section 3f.
ROUNDS = 64
_MODULE = "_fp_rehearsal_main"
_NAME = "_fp-rehearsal"
_SOURCE = ("def handler(event, context):\n"
           "    return {'ok': True}\n")


class _NoConn:
    """The flusher's connection: the rehearsal's lines are never sent."""

    def send_built(self, build, timeout=-1):
        return True


def specialize_path(rounds: int = ROUNDS) -> None:
    """Runs the pure-Python part of a specialize and a first sync call `rounds` times."""
    saved_tempdir = tempfile.tempdir  # None until something asks: then chosen from the environment
    directory = tempfile.mkdtemp(prefix="fp-rehearsal-")
    saved_path = list(sys.path)
    saved_cwd = os.getcwd()
    try:
        source = os.path.join(directory, _MODULE + ".py")
        with open(source, "w") as out:
            out.write(_SOURCE)
        import py_compile
        py_compile.compile(source, doraise=True)
        fn = {"name": _NAME, "version": "v0", "dir": directory, "entrypoint": f"{_MODULE}:handler",
              "memoryBytes": 256 << 20, "env": {}}
        frame = encode({"t": "specialize", "id": 1, "fn": fn}) + encode(
            ["invoke", 2, "r", 1000, 1, "GET", "/", "", [], [["accept", "*/*"]], "r", "", "http", None, None])
        for _ in range(rounds):
            _round(frame, directory)
    finally:
        sys.path[:] = saved_path
        sys.path_importer_cache.pop(directory, None)
        sys.modules.pop(_MODULE, None)
        logging.Logger.manager.loggerDict.pop(_NAME, None)
        os.chdir(saved_cwd)
        capture.set_sink(None)
        shutil.rmtree(directory, ignore_errors=True)
        tempfile.tempdir = saved_tempdir


def _round(frame: bytes, directory: str) -> None:
    start = time.perf_counter()
    spec_msg, invoke = Decoder().feed(frame)
    if main._check(spec_msg) is not None or main._check(invoke) is not None:
        raise RuntimeError("the rehearsal's frames do not check")
    cap, token = capture.begin()
    Flusher(_NoConn())
    fn = spec_msg["fn"]
    # specialize.load's steps, without those that change the process for good.
    path = os.path.realpath(fn["dir"])
    module_name, _, attr = fn["entrypoint"].partition(":")
    os.environ.update({str(k): str(v) for k, v in fn["env"].items()})
    os.chdir(path)
    getattr(logging, os.environ.get("LOG_LEVEL", "INFO").upper(), logging.INFO)
    specialize._vm_size_bytes()
    resource.getrlimit(resource.RLIMIT_AS)
    sys.path.insert(0, path)
    sys.path_importer_cache.pop(path, None)  # a version's directory is new to every runtime
    try:
        module = importlib.import_module(module_name)
    finally:
        sys.path.remove(path)
        sys.modules.pop(module_name, None)
    target = getattr(module, attr)
    loaded = specialize.loaded_of(fn, target)
    encode(main._specialized(spec_msg, loaded, capture.end(cap, token), start))
    # The first call.
    if not main._invoke_ok(invoke):
        raise RuntimeError("the rehearsal's invoke does not check")
    run_sync(loaded, invoke)
