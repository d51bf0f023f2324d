"""Specialization: turn a generic runtime into one serving a single function version.

Sets the function's environment (this process serves only this version, so nothing leaks to
other functions), applies the memory limit, imports the module, resolves `module:attr` and
decides the contract: `handler(event, context)` (sync or async), an ASGI app, or a WSGI app (served as
an ASGI app, wsgi.py).
"""
import asyncio
import importlib
import inspect
import logging
import os
import resource
import shutil
import sys
import threading

from . import capture, migration
from .event import Context
from .lambda_event import lambda_handler
from .wsgi import WsgiApp, is_wsgi

# A thread's stack is address space, not memory (the box's cgroup counts what is touched), yet
# RLIMIT_AS counts it whole: at 2 MiB and no allowance, a 128Mi function started 64 threads (a
# ThreadPoolExecutor of 200 failed) where the box allows 256 (helper round of 2026-12-05). 1 MiB
# is ample for Python frames (3.11 runs Python-to-Python calls without C recursion; musl
# builds run with less), and the stacks of THREAD_STACKS_ALLOWED threads come on top of the limit.
THREAD_STACK_BYTES = 1024 * 1024
THREAD_STACKS_ALLOWED = 128
# Native code needs more than Python frames: pydantic-core validating a recursive model 200 deep
# overflowed a 1 MiB stack (apps round 6), and numpy's `linalg.inv`/`solve` (OpenBLAS's LU, ~3.1 MiB
# of stack whatever the matrix size) overflowed the 3 MiB that followed, so a sync route doing
# linear algebra died (SIGSEGV) at its first call (apps round 8). The threads that run a call's
# code get what uvicorn's threads get, glibc's default (RLIMIT_STACK, 8 MiB): AnyIO's workers (a
# sync route, a sync dependency, a sync route's response model) and the runtime's pool for a
# handler above concurrency 1 (named CALL_THREAD_PREFIX). Their stacks come on top of the limit
# for one thread per concurrent call (`concurrency`: AnyIO starts a worker only when the others are
# busy), at most CALL_THREADS_ALLOWED (AnyIO's default limiter); more threads than that take from
# the allowance above, then from the limit. Not 40 for every function: the allowance is address
# space the heap may take as well, and 320 MiB would let a 64Mi function allocate 400 MB before
# its MemoryError (docs/adr/0107-call-thread-stacks.md).
CALL_THREAD_STACK_BYTES = 8 * 1024 * 1024
CALL_THREADS_ALLOWED = 40
CALL_THREAD_PREFIX = "fp-call"
# In a box whose memory a cgroup bounds (what it touches: the real limit), address space is not
# memory: numpy's and pandas' shared libraries, polars' and pyarrow's allocators and their worker
# threads reserve far more than they use. pandas 3 reading a 4 MB Parquet file and polars a 6 MB CSV
# reserved 2.6 GB of address space for 218 MB resident; under `limits.memory` as RLIMIT_AS (256Mi)
# they failed to start threads ("OS can't spawn worker thread") and allocate ("ArrowMemoryError"),
# though far from the memory limit (apps round 26, docs/adr/0202-address-space-in-a-memory-cgroup.md).
# There the address space gets this many times `limits.memory`; without a cgroup it stays the limit.
BOUNDED_ADDRESS_FACTOR = 16


def _overcommit_strict() -> bool:
    """vm.overcommit_memory 2: the kernel counts address space a process commits against one limit for
    the whole host, so there address space is memory of the host's, and stays `limits.memory`. Read
    when this module is imported (the runtime's start, before any box: /proc/sys may not be there)."""
    try:
        with open("/proc/sys/vm/overcommit_memory", "rb") as f:
            return f.read().strip() == b"2"
    except OSError:
        return False


_OVERCOMMIT_STRICT = _overcommit_strict()


class Loaded:
    __slots__ = ("name", "version", "dir", "target", "contract", "is_async", "concurrency", "logger", "lifespan")

    def __init__(self, spec, target, contract, is_async):
        self.name = spec["name"]
        self.version = spec["version"]
        self.dir = spec["dir"]
        self.target = target
        self.contract = contract
        self.is_async = is_async
        self.concurrency = max(1, int(spec.get("concurrency") or 1))
        self.logger = logging.getLogger(self.name)
        self.lifespan = None
        Context.of_function(self.name, self.version, int(spec.get("memoryBytes") or 0))


def _vm_size_bytes() -> int:
    """The process's address-space size: the first field of /proc/self/statm, in pages (one short
    line, where /proc/self/status builds forty)."""
    fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)  # not open(): see fp_sandbox/enter.py _write
    try:
        return int(os.read(fd, 256).split(None, 1)[0]) * resource.getpagesize()
    finally:
        os.close(fd)


def _cap_malloc_arenas() -> None:
    """glibc reserves 64 MiB of address space per thread arena; under RLIMIT_AS a few threads
    (a sync pool, FastAPI's thread pool) would use up the limit without using memory. Done once
    when this module is imported (by the generic runtime, or the zygote whose forks inherit the
    setting), not at specialize: a process-wide malloc parameter, the same for every function."""
    try:
        import ctypes
        ctypes.CDLL(None).mallopt(-8, 2)  # M_ARENA_MAX
    except Exception:  # not glibc: nothing to cap
        pass


_cap_malloc_arenas()


def _is_call_thread(thread) -> bool:
    cls = type(thread)
    return (cls.__name__ == "WorkerThread" and cls.__module__.startswith("anyio.")) or thread.name.startswith(CALL_THREAD_PREFIX)


def _size_call_threads() -> None:
    """Threads that run a call's code start with CALL_THREAD_STACK_BYTES (see there); every other
    thread with THREAD_STACK_BYTES. The size is the process's, read when a thread starts: set
    around that start (a thread another starts meanwhile gets one or the other, both work)."""
    start = threading.Thread.start
    if getattr(start, "_fp_sized", False):
        return

    def sized_start(self):
        if not _is_call_thread(self):
            return start(self)
        previous = threading.stack_size(CALL_THREAD_STACK_BYTES)
        try:
            return start(self)
        finally:
            threading.stack_size(previous)

    sized_start._fp_sized = True
    threading.Thread.start = sized_start


def limit_memory(memory_bytes: int, reserve: int = 0, concurrency: int = 1, bounded: bool = False) -> None:
    """Cap address space at the current size plus the function's allowance (see docs/adr), plus
    `reserve` bytes the runtime itself may map later (the log flusher thread: flusher.py), plus
    the stacks of THREAD_STACKS_ALLOWED threads and of a call thread per concurrent call (at most
    CALL_THREADS_ALLOWED). `bounded`: a memory cgroup limits the box, and the allowance is
    BOUNDED_ADDRESS_FACTOR times the memory (see there)."""
    if memory_bytes <= 0:
        return
    # Each thread reserves its stack as address space (8 MiB by default); FastAPI runs sync
    # routes on up to 40 threads, thread pools fan out to hundreds: see THREAD_STACK_BYTES.
    threading.stack_size(THREAD_STACK_BYTES)
    _size_call_threads()
    call_threads = min(CALL_THREADS_ALLOWED, max(1, concurrency))
    stacks = THREAD_STACKS_ALLOWED * THREAD_STACK_BYTES + call_threads * CALL_THREAD_STACK_BYTES
    allowance = memory_bytes * BOUNDED_ADDRESS_FACTOR if bounded and not _OVERCOMMIT_STRICT else memory_bytes
    limit = _vm_size_bytes() + allowance + reserve + stacks
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    # Hard = soft: user code can lower the limit, never lift it (without CAP_SYS_RESOURCE).
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def add_deps(site_dir: str) -> None:
    """The version's dependency site (docs/dependencies.md, "Path order"): after the function's
    own directory and the standard library, before the runtime's site-packages, so a declared
    package wins over one the platform happens to ship, while the runtime's own modules (imported
    before this, msgpack among them) and the standard library can never be shadowed. Its .pth
    files are processed as in any site directory; its bytecode was compiled at build time."""
    import site
    before = list(sys.path)
    site.addsitedir(site_dir)
    added = [p for p in sys.path if p not in before]
    at = next((i for i, p in enumerate(before) if p.endswith("site-packages")), len(before))
    sys.path[:] = before[:at] + added + before[at:]
    # Processes the function starts get them too: `subprocess.run([sys.executable, "-m", tool])`,
    # a declared package's command (its bin/), as in a virtualenv (helper round of 2026-12-05).
    # There PYTHONPATH puts the site before the standard library (docs/dependencies.md).
    os.environ["PYTHONPATH"] = os.pathsep.join([site_dir, *filter(None, [os.environ.get("PYTHONPATH")])])
    bin_dir = os.path.join(site_dir, "bin")
    if os.path.isdir(bin_dir):
        os.environ["PATH"] = os.pathsep.join([bin_dir, *filter(None, [os.environ.get("PATH")])])
    rebind_optional_imports()


FONT_CACHE = ".fp-cache/matplotlib"


def seed_caches(site_dir: str) -> None:
    """matplotlib's font list, made once when the site was built (controlplane/deps/fonts.ts,
    ADR 0108), copied where matplotlib looks for it: its cache folder under the function's own
    HOME (/tmp, new at every cold start), or MPLCONFIGDIR / XDG_CACHE_HOME when the function's env
    names one. Without it each cold start scanned every font again (0.3-1 s of the import). A list
    already there is kept; a failure to copy only means matplotlib builds it, as before."""
    source = os.path.join(site_dir, FONT_CACHE)
    try:
        names = [n for n in os.listdir(source) if n.startswith("fontlist-v") and n.endswith(".json")]
    except OSError:
        return
    target = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "matplotlib")
    try:
        os.makedirs(target, exist_ok=True)
        for name in names:
            if not os.path.exists(os.path.join(target, name)):
                shutil.copyfile(os.path.join(source, name), os.path.join(target, name))
    except OSError:
        pass


# Optional packages that modules a zygote preloads (zygote.py PRESETS, warmup.py) look for once, at
# their own import: missing then, they stay missing in every runtime forked from it, even when the
# function's dependency site brings them. Starlette's form parsing is the one apps hit:
# python-multipart declared in requirements.txt, yet every Form/UploadFile route answered 400
# "There was an error parsing the body" (starlette.requests' parse_options_header stayed None).
# Starlette's own import tries these packages in this order (python-multipart's current name, then
# its old one); a package counts only with its `multipart.parse_options_header`, as there.
_MULTIPART_PACKAGES = ("python_multipart", "multipart")
# Module attributes that are the optional package itself, None when it was missing: FastAPI's
# ORJSONResponse / UJSONResponse (`default_response_class=ORJSONResponse` with orjson declared
# answered 500: "orjson must be installed").
_OPTIONAL_MODULES = (("fastapi.responses", "orjson", "orjson"), ("fastapi.responses", "ujson", "ujson"))


def rebind_optional_imports() -> None:
    """Binds what preloaded FastAPI and Starlette modules found missing and the dependency site
    now provides, as their own imports would have with the site on sys.path
    (docs/dependencies.md, "Path order")."""
    for module_name, attr, package in _OPTIONAL_MODULES:
        module = sys.modules.get(module_name)
        if module is None or getattr(module, attr, True) is not None:
            continue
        try:
            setattr(module, attr, importlib.import_module(package))
        except ImportError:
            pass
    # Only a module that has the attribute and found nothing (None) is fixed: another Starlette
    # version's layout is left alone, never an error at specialize.
    formparsers = sys.modules.get("starlette.formparsers")
    if formparsers is not None and getattr(formparsers, "multipart", True) is not None:
        formparsers = None
    requests = sys.modules.get("starlette.requests")
    if requests is not None and getattr(requests, "parse_options_header", True) is not None:
        requests = None
    if formparsers is None and requests is None:
        return  # not preloaded (its own import will find the site), or found at its import
    for name in _MULTIPART_PACKAGES:
        try:
            package = importlib.import_module(name)
            parse_options_header = importlib.import_module(name + ".multipart").parse_options_header
        except (ImportError, AttributeError):
            continue
        if formparsers is not None:
            formparsers.multipart = package
            formparsers.parse_options_header = parse_options_header
            # Its `except` names FormParserError (bound by the same import): unbound, any failure
            # of the parse (more than 1000 files or fields, a part too large, a malformed body)
            # was a NameError and 500 where uvicorn answers 400 (apps round 14).
            try:
                formparsers.FormParserError = importlib.import_module(name + ".exceptions").FormParserError
            except (ImportError, AttributeError):
                pass
        if requests is not None:
            requests.parse_options_header = parse_options_header
        return


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _signature(target):
    """The entrypoint's signature, else its `__call__`'s as the object has it: an ASGI middleware may
    keep `__call__` per instance (sentry_sdk's `SentryAsgiMiddleware` has it in its `__slots__`),
    which `inspect.signature` cannot read on the object; None when neither can be read."""
    try:
        return inspect.signature(target)
    except (TypeError, ValueError):
        call = getattr(target, "__call__", None)
        if call is None or call is target:
            return None
        try:
            return inspect.signature(call)
        except (TypeError, ValueError):
            return None


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _contract(target, entry=""):
    if not callable(target):
        raise TypeError(f"entrypoint is a {type(target).__name__}, not a callable")
    plain = inspect.isfunction(target) and not hasattr(target, "__wrapped__") and not hasattr(target, "__signature__")
    code = target.__code__ if plain else None
    varargs = False
    optional = False  # past (event, context), only parameters with defaults
    if code is not None and not target.__defaults__ and not code.co_flags & inspect.CO_VARARGS:
        arity = code.co_argcount  # a plain function: what inspect.signature would count, ~100x faster
    else:
        sig = _signature(target)
        params = sig.parameters.values() if sig is not None else ()
        arity = sum(1 for p in params if p.kind in _POSITIONAL) if sig is not None else -1
        varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
        # handler(event, context=None, debug=False) too, written to be called with the event alone in a
        # test (it was taken for an ASGI app: oddfn round); an ASGI app's parameters have no defaults.
        optional = sum(1 for p in params if p.kind in _POSITIONAL and p.default is p.empty) in (1, 2) and not any(
            p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is p.empty for p in params)
    call = target if inspect.isfunction(target) or inspect.ismethod(target) else getattr(target, "__call__", target)
    if arity > 2 and optional:
        # handler(event, context, client=None): Lambda calls it with two, so does the platform
        # (apps round 14: it was taken for an ASGI app). An ASGI app's three have no defaults.
        return "handler", inspect.iscoroutinefunction(call)
    if arity == 3:
        return "asgi", True
    if arity == 2:
        if is_wsgi(target):
            return "wsgi", True
        return "handler", inspect.iscoroutinefunction(call)
    if varargs and arity == 0 and inspect.iscoroutinefunction(call):
        # `async def __call__(self, *args, **kwargs)` (a tracing or error-reporting wrapper): an
        # ASGI 3 app, as uvicorn decides for a coroutine `__call__` (docs/adr/0096-entrypoint-signatures.md).
        return "asgi", True
    if arity == 1 and inspect.isclass(target) and inspect.iscoroutinefunction(inspect.getattr_static(target, "__call__", None)):
        # `class App: __init__(self, scope); async __call__(self, receive, send)`: uvicorn's
        # --interface asgi2 serves it; here it stays refused (ADR 0096), but said so, not with the
        # OpenFaaS and OpenWhisk hints of a one-parameter function (apps round 14).
        name = target.__name__
        raise TypeError(f"entrypoint {entry or name} is an ASGI 2 app (class {name}: built with the scope, its instance called "
                        f"with receive and send), which is not served: wrap it as ASGI 3, `async def app(scope, receive, send): await "
                        f"{name}(scope)(receive, send)`, or asgiref's `app = guarantee_single_callable({name})`")
    if varargs and arity == 0:
        # A decorator's `wrapper(*args, **kwargs)` without functools.wraps (Lambda calls it with two
        # and it runs): the app-factory and Fission hints of a function of no parameters misled
        # (apps round 14). Still refused (ADR 0096: a handler or a WSGI app?), with what to write.
        raise TypeError("entrypoint must be handler(event, context), an ASGI app(scope, receive, send) or a WSGI app(environ, "
                        "start_response); it takes no named positional arguments, only *args, as a decorator's wrapper does "
                        "without functools.wraps: put @functools.wraps(fn) on the wrapper, so the entrypoint has the "
                        "signature of the function it wraps, or name the parameters: def handler(event, context)")
    takes = "its signature cannot be read" if arity < 0 else f"it takes {arity} positional arguments"
    raise TypeError("entrypoint must be handler(event, context), an ASGI app(scope, receive, send) or a WSGI app(environ, start_response); "
                    f"{takes}{migration.hint(arity, '' if entry.endswith('()') else entry)}")


def src_layout(directory: str, module_name: str) -> str:
    """A src layout (`src/shop/api.py` with no `src/__init__.py`, entrypoint `src.shop.api:app`):
    the module is imported from `src`, put first on sys.path, as `uvicorn --app-dir src` does, so
    its own absolute imports (`import shop`) resolve. It failed at `import shop` (helper round,
    2026-12-05). The entrypoint such a project runs with (`shop.api:app`: uvicorn `--app-dir src`,
    or the package installed editable as uv, Poetry and hatch projects are) is imported from `src`
    too when the folder's top level has no such module (apps round 12: validate refused it, and
    the import failed). Any other entrypoint is returned as it is."""
    src = os.path.join(directory, "src")
    if os.path.exists(os.path.join(src, "__init__.py")) or not os.path.isdir(src):
        return module_name
    if module_name.startswith("src."):
        sys.path.insert(0, src)
        return module_name[len("src."):]
    base = module_name.replace(".", os.sep)
    def found(root):
        return os.path.isfile(os.path.join(root, base + ".py")) or os.path.isfile(os.path.join(root, base, "__init__.py"))
    if not found(directory) and found(src):
        sys.path.insert(0, src)
    return module_name


def load(spec: dict, flusher=None) -> Loaded:
    """Loads the function; `flusher` (flusher.Flusher) is installed before the memory limit."""
    directory = os.path.realpath(spec["dir"])
    entry = spec.get("entrypoint") or "main:handler"
    module_name, _, attr = entry.partition(":")
    factory = attr.endswith("()")  # module:create_app(): an app factory, called once here
    attr = attr[:-2] if factory else attr
    if not module_name or not attr:
        raise ValueError(f"entrypoint {entry!r} must look like module:attr")
    os.environ.update({str(k): str(v) for k, v in (spec.get("env") or {}).items()})
    # What a bare interpreter has: not the zygote's (or the runtime's) own command line, which a
    # module parsing its arguments at import (argparse, absl) refused (apps round 6 of 2026-12-05).
    sys.argv[:] = [""]
    os.chdir(directory)
    sys.path.insert(0, directory)
    runtime_last()
    module_name = src_layout(directory, module_name)
    python_env(spec.get("env") or {})
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    capture.install(getattr(logging, level, logging.INFO))
    if flusher is not None:
        flusher.install()
    limit_memory(int(spec.get("memoryBytes") or 0), flusher.RESERVE_BYTES if flusher is not None else 0,
                 int(spec.get("concurrency") or 1), bool(spec.get("memoryCgroup")))
    if spec.get("depsDir"):
        add_deps(spec["depsDir"])  # after the limits: its .pth files may run code
        seed_caches(spec["depsDir"])
    fresh_event_loop_state()
    module = importlib.import_module(module_name)
    target = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise AttributeError(f"module {module_name!r} has no attribute {attr!r}")
        target = getattr(target, part)
    if factory:
        if not callable(target):
            raise TypeError(f"entrypoint {entry}: {attr} is a {type(target).__name__}, not a factory to call")
        target = target()
        if not callable(target):
            raise TypeError(f"entrypoint {entry}: {attr}() returned {_short(target)}, not an app "
                            "(a handler(event, context), an ASGI or a WSGI app)")
    return loaded_of(spec, target)


_RUNTIME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def runtime_last() -> None:
    """The runtime's own directory goes to the end of sys.path: its top-level modules (validate.py,
    zygote.py, bootstrap.py, deps_build.py) came second, before the standard library and the
    dependency site, so a declared package of the same name lost to them (configobj ships
    `validate`: `from validate import Validator` got the platform's file and the load failed;
    apps round 6). What the runtime needs is imported already (its packages stay in sys.modules,
    and their submodules are found through their own `__path__`)."""
    if _RUNTIME_DIR in sys.path and (sys.path[-1] != _RUNTIME_DIR or sys.path.count(_RUNTIME_DIR) > 1):
        sys.path[:] = [p for p in sys.path if p != _RUNTIME_DIR] + [_RUNTIME_DIR]


def python_env(env: dict) -> None:
    """What an interpreter started with the function's env would take from it: the runtime's was
    started long before, isolated (-I), so `PYTHONPATH: src` and `PYTHONWARNINGS` did nothing
    (apps round 6, ADR 0095). PYTHONPATH's entries (relative ones from the code directory, the
    working directory) go after the code directory, before the standard library, as Python puts
    them; PYTHONWARNINGS' filters are applied as `-W` would. What only an interpreter's start can
    set (PYTHONUTF8, PYTHONDEVMODE, PYTHONHASHSEED, PYTHONOPTIMIZE) is not (docs/api-invoke.md).
    `TZ`: the C library read the time zone when the interpreter started, without it, so
    `time.localtime()`, `datetime.now()` and `time.tzname` were UTC's under `TZ: Europe/Paris`
    (apps round 7); `time.tzset()` reads it again, as a start with TZ set would have."""
    if "TZ" in env:
        import time
        time.tzset()
    path = env.get("PYTHONPATH")
    if path:
        entries = [os.path.abspath(p) for p in str(path).split(os.pathsep) if p]
        sys.path[1:1] = [p for p in entries if p not in sys.path]
    filters = env.get("PYTHONWARNINGS")
    if filters:
        import warnings
        options = [f.strip() for f in str(filters).split(",") if f.strip()]
        sys.warnoptions.extend(options)
        warnings._processoptions(options)  # what the interpreter does with -W and PYTHONWARNINGS at start


def child_interpreter_flags() -> None:
    """The flags a library gives the Python processes it starts are a bare interpreter's, as under
    uvicorn. multiprocessing's resource tracker and forkserver, and joblib's loky (scikit-learn's
    `n_jobs`), start `sys.executable` with `subprocess._args_from_interpreter_flags()`, the flags
    of the running interpreter: the runtime's `-I`, under which the child ignores PYTHONPATH, so it
    could not import the version's dependency site (loky's resource tracker died of
    "No module named 'joblib'" at every start and was relaunched: apps round 8). The runtime's own
    interpreter stays isolated; the child runs in the same box, with the function's env, as any
    process it starts with `subprocess.run([sys.executable, ...])` does."""
    import subprocess
    original = subprocess._args_from_interpreter_flags
    if getattr(original, "_fp_child", False):
        return

    def args_from_interpreter_flags():
        return [arg for arg in original() if arg != "-I"]

    args_from_interpreter_flags._fp_child = True
    subprocess._args_from_interpreter_flags = args_from_interpreter_flags
    # multiprocessing.util binds the name at its import: one imported later takes this one.
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util._args_from_interpreter_flags = args_from_interpreter_flags


# At import, not at specialize: it does nothing to the runtime's own processes (it starts none with
# subprocess) and is the same for every function, so a zygote's forks share it (~60 us and ~18
# copy-on-write faults of a cold start from the pool in a fresh fork; bench/README.md "Where the
# time goes", hot5).
child_interpreter_flags()


def fresh_event_loop_state():
    """The module is imported with the event-loop state of a fresh interpreter, as under uvicorn:
    `asyncio.get_event_loop()` at import (`loop.run_until_complete(init())`, a client given the
    loop) makes a loop. A zygote's warm-up ran `asyncio.run()`, whose `set_event_loop(None)` marks
    the main thread's loop as set, after which that call raised "There is no current event loop"
    and every ASGI app doing it failed to load (apps round 6, ADR 0095). A new default policy
    forgets it; the loop the runtime serves on is its own either way (main.py)."""
    if asyncio._get_running_loop() is None:
        asyncio.set_event_loop_policy(None)


def lambda_adapted(target):
    """The app inside a Lambda adapter: `handler = Mangum(app)` is how FastAPI is run on Lambda, and
    Mangum's own call reads API Gateway's events, which the platform does not send ("unable to infer
    a handler": every call failed, apps round of 2026-12-05). Its ASGI app is served instead, as
    `entrypoint: main:app` would (Mangum's base path and lifespan options do not apply: the app
    is served at the function's root, its lifespan run as for any ASGI app). Anything else as it is."""
    cls = type(target)
    if cls.__name__ == "Mangum" and cls.__module__.split(".")[0] == "mangum":
        app = getattr(target, "app", None)
        if app is not None and callable(app):
            return app
    return target


def loaded_of(spec: dict, target) -> Loaded:
    """The loaded function: a WSGI app is served as the ASGI app that runs it (wsgi.py); the app
    inside a Lambda adapter (Mangum) as that app; Vercel's `class handler(BaseHTTPRequestHandler)` as
    the WSGI app that runs it (request_handler.py)."""
    target = lambda_adapted(target)
    server = sys.modules.get("http.server")  # imported by the module that defines such a class: no cost for others
    if server is not None and inspect.isclass(target) and issubclass(target, server.BaseHTTPRequestHandler):
        from .request_handler import as_wsgi
        target = as_wsgi(target)
    contract, is_async = _contract(target, spec.get("entrypoint") or "")
    if contract == "wsgi":
        loaded = Loaded(spec, target, "asgi", True)
        loaded.target = WsgiApp(target, threaded=loaded.concurrency > 1)
        return loaded
    if contract == "handler" and spec.get("event") == "lambda":
        target = lambda_handler(target, is_async)  # platform.yaml `event: lambda`: API Gateway's event
    return Loaded(spec, target, contract, is_async)
