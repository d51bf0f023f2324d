"""Failure classes (a closed list, the same as ErrorClass in protocol/messages.ts) and reports."""
import errno
import importlib
import os
import sysconfig
import traceback

USER_ERROR = "user_error"
INIT_ERROR = "init_error"
TIMEOUT = "timeout"
OUT_OF_MEMORY = "out_of_memory"
CRASH = "crash"
BAD_RETURN = "bad_return"
PROTOCOL_ERROR = "protocol_error"
PROCESS_LIMIT = "process_limit"  # host-side only: the box refused a fork or thread at its task limit

_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))
# The stdlib's import machinery (importlib.import_module, which the runtime calls to load the
# entrypoint's module): its frame stood first in every import-time error's stack, naming the
# host's Python install, and told the user nothing.
_IMPORTLIB_DIR = os.path.join(os.path.dirname(os.path.abspath(importlib.__file__)), "")
# The runtime's own site-packages (what the presets preload: FastAPI, Starlette, pydantic, anyio):
# their frames named the host's install (`/srv/…/.venv/lib/python3.11/site-packages/fastapi/…`),
# a path the user cannot map to anything of theirs; shown package-relative (`fastapi/routing.py`),
# as a declared package's are `/deps/fastapi/routing.py` (ADR 0249).
_RUNTIME_SITES = tuple(sorted({os.path.join(d, "") for p in ("purelib", "platlib")
                               for d in (sysconfig.get_paths()[p], os.path.realpath(sysconfig.get_paths()[p]))},
                              key=len, reverse=True))
# A report must always fit in a frame the host can read, whatever the exception carries.
MAX_TEXT_CHARS = 64 * 1024


class SandboxError(Exception):
    """The runtime could not enter the function's box; the function's code never ran."""


class BadReturn(Exception):
    """The handler returned a value that cannot become an HTTP response."""


# Platform codes the host takes from a user_error (RUNTIME_PLATFORM_CODES in protocol/messages.ts).
PLATFORM_CODES = ("DATA_BACKEND_UNAVAILABLE",)
# How far down __cause__ / __context__ a platform failure is looked for.
_CHAIN_DEPTH = 8


def platform_code(err: BaseException) -> str | None:
    """The platform failure under a user exception, by code: the data proxy's reply (pymongo keeps it
    as OperationFailure.details, with `fpCode`) on the exception or in its chain (re-raised, wrapped)."""
    seen = 0
    while err is not None and seen < _CHAIN_DEPTH:
        try:
            details = getattr(err, "details", None)
        except Exception:  # a user exception's property that raises: not the proxy's reply
            details = None
        if isinstance(details, dict) and details.get("fpCode") in PLATFORM_CODES:
            return details["fpCode"]
        err = err.__cause__ or err.__context__
        seen += 1
    return None


# The box's cap on what the function writes: each of /tmp, /dev/shm and the working directory's layer,
# and any one file (its RLIMIT_FSIZE, FP_SANDBOX_TMP_BYTES); 0 unboxed (the host's disk: nothing to tell).
_box_file_bytes = [0]


def box_file_bytes(rlimits) -> None:
    """Keeps the box's file size cap (BoxSpec.rlimits.fsize) for file_space_hint."""
    fsize = rlimits.get("fsize") if isinstance(rlimits, dict) else None
    _box_file_bytes[0] = fsize if isinstance(fsize, int) and fsize > 0 else 0


def file_space_hint(err: BaseException) -> str:
    """What "No space left on device" / "File too large" / SQLite's "database or disk is full" mean in a
    box: under uvicorn the disk has room, here the instance's file systems hold FP_SANDBOX_TMP_BYTES each
    and one file is capped at that size (apps round 13; apps round 23: FastAPI's upload tutorial saving to
    /tmp/uploads answered 500 from the 13th 5 MB upload, a 70 MiB report failed). The one place that says
    it: the run record carries it to every surface (runs, the console, the API). Empty outside a box."""
    if not _box_file_bytes[0]:
        return ""
    full = isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EFBIG)
    sqlite_full = type(err).__name__ == "OperationalError" and str(err).startswith("database or disk is full")
    if not (full or sqlite_full):
        return ""
    mib = _box_file_bytes[0] / (1 << 20)
    return (f" [the instance's /tmp, /dev/shm and working directory hold {mib:g} MiB each, and no file may grow past "
            f"it: stream what you generate, remove files once sent, keep uploads outside the instance, or have the "
            f"platform's operator raise FP_SANDBOX_TMP_BYTES (docs/api-invoke.md, \"Files the app writes\")]")


# multiprocessing's modules that listen on a Unix socket (forkserver, Manager's server, Listener): a box refuses
# `listen`/`bind` there with EPERM, which said nothing of why (apps round 26: ProcessPoolExecutor with the
# forkserver context, the default start method from Python 3.14 on, answered 500 "Operation not permitted").
_LISTENING_MULTIPROCESSING = tuple(os.path.join("multiprocessing", name) for name in ("forkserver.py", "managers.py", "connection.py"))


def _passed_through(err: BaseException, files: tuple) -> bool:
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(files):
            return True
        tb = tb.tb_next
    return False


def _user_hint(err: BaseException, message: str) -> str | None:
    """What a call's failure that reads as the platform's means, for the two a handler written for a
    script or a process of its own meets (oddfn round: "SystemExit: 0", and Python's own words on a
    signal handler set off the main thread)."""
    if type(err) is SystemExit:
        return ("sys.exit() in a call fails that call, and the instance serves on; return a response "
                "instead, e.g. {\"statusCode\": 500, \"body\": ...}")
    if isinstance(err, PermissionError) and err.errno == errno.EPERM and _passed_through(err, _LISTENING_MULTIPROCESSING):
        return ("a function may not listen on a socket (docs/security.md, \"Ports\"), and multiprocessing's forkserver "
                "start method and Manager() listen on one: use a fork or spawn context, e.g. ProcessPoolExecutor("
                "mp_context=multiprocessing.get_context(\"fork\")), and pass data through its arguments and results or a Queue")
    if type(err) is ValueError and message.startswith("signal only works in main thread"):
        return ("a call runs on a worker thread at limits.concurrency above 1 (a sync route's too): a signal "
                "handler, such as signal.alarm()'s timeout guard, needs concurrency 1 with a sync handler, or an async one")
    return None


def report(err: BaseException, klass: str, user_dir: str | None) -> dict:
    """The wire form of an error: class, type, message, stack and the innermost user frame."""
    try:
        message = str(err)
    except Exception:  # a broken __str__ must not cost the call its reply
        message = f"<{type(err).__name__}: str() failed>"
    if klass == USER_ERROR:
        hint = _user_hint(err, message)
        if hint:
            message = f"{message} [{hint}]" if message else hint
    out = {"class": klass, "type": type(err).__name__, "message": _clip(message + file_space_hint(err))}
    if klass == USER_ERROR:
        try:
            code = platform_code(err)
        except Exception:  # a property that raises must not cost the call its reply
            code = None
        if code is not None:
            out["code"] = code
    frames = traceback.extract_tb(err.__traceback__)
    if user_dir:
        prefix = os.path.join(os.path.realpath(user_dir), "")

        def inside(filename):
            # Pseudo-names such as "<frozen os>" are relative, and realpath would resolve them
            # against the cwd, which is the function directory: they are never user files.
            return bool(filename) and os.path.isabs(filename) and os.path.realpath(filename).startswith(prefix)

        user = None
        for frame in frames:
            if inside(frame.filename):
                user = frame
        if user is not None:
            out["file"] = os.path.relpath(os.path.realpath(user.filename), prefix)
            out["line"] = user.lineno or 0
        # A syntax error is in the file being compiled, not in the frame that imported it.
        if isinstance(err, SyntaxError) and inside(err.filename):
            out["file"] = os.path.relpath(os.path.realpath(err.filename), prefix)
            out["line"] = err.lineno or 0
    # The runtime's own frames say nothing to the user: leave them out of the stack.
    shown = [f for f in frames
             if not f.filename.startswith(_RUNTIME_DIR) and not f.filename.startswith("<frozen")]
    while shown and shown[0].filename.startswith(_IMPORTLIB_DIR):
        shown.pop(0)
    for frame in shown:
        site = next((d for d in _RUNTIME_SITES if frame.filename.startswith(d)), None)
        if site is not None:
            frame.filename = frame.filename[len(site):]
    stack = "Traceback (most recent call last):\n" + "".join(traceback.format_list(shown)) if shown else ""
    out["stack"] = _clip(stack + "".join(traceback.format_exception_only(type(err), err)))
    return out


# What a shared library's loader says when the address-space limit refuses its mapping (an import
# of numpy, pandas, … under a small limits.memory), and what an allocation refused says.
_OUT_OF_MEMORY_TEXTS = ("failed to map segment", "cannot allocate memory")


def is_out_of_memory(err: BaseException) -> bool:
    """A MemoryError, or an ImportError/OSError of a library the memory limit kept from loading
    ("ImportError: …so: failed to map segment from shared object")."""
    if isinstance(err, MemoryError):
        return True
    if not isinstance(err, (ImportError, OSError)):
        return False
    try:
        text = str(err).lower()
    except Exception:
        return False
    return any(t in text for t in _OUT_OF_MEMORY_TEXTS)


def with_memory_hint(report_: dict, err: BaseException, memory_bytes: int) -> dict:
    """`report_` of a load error, its message told when the function's memory limit caused it
    (is_out_of_memory): it read "ImportError: …so: failed to map segment from shared object", or
    an empty MemoryError, and nothing said why."""
    if is_out_of_memory(err):
        limit = f" ({memory_bytes // (1 << 20)} MiB)" if memory_bytes > 0 else ""
        told = f"the function's memory limit{limit} was reached while loading it: raise limits.memory in platform.yaml"
        report_["message"] = _clip(f"{report_['message']} [{told}]" if report_["message"] else told)
    return report_


def _clip(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[: MAX_TEXT_CHARS // 2] + f"\n[... {len(text) - MAX_TEXT_CHARS} characters cut ...]\n" + text[-MAX_TEXT_CHARS // 2 :]


def plain(klass: str, type_name: str, message: str) -> dict:
    return {"class": klass, "type": type_name, "message": message}
