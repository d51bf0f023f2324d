"""The runtime's life: boot, wait generic, specialize once, serve that function until shutdown.

Phases (docs/runtime-protocol.md):
1. generic: blocking reads; answers health, specialize, shutdown.
2. sync handler: blocking loop on this thread (a handler may call asyncio.run itself);
   concurrency > 1 runs calls on a thread pool.
3. async handler or ASGI app: an asyncio loop on this thread (uvloop's: ADR 0050); messages are
   read and dispatched by one reader callback on the socket (Conn.listen); each call is a task,
   made when the call starts (calls beyond `concurrency` wait in a FIFO of messages).
A malformed frame gets a protocol_error reply; a length prefix over the limit cannot be
resynchronised, so the runtime replies and exits.
"""
import asyncio
import atexit
import collections
import os
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from . import asgi, capture, errors, loadwatch, remote, streaming, template, websocket
from .conn import BadFrame, Conn, FrameTooLarge
from .flusher import Flusher
from .frames import INVOKE_LENGTH, PROTOCOL_VERSION, encode, invoke_message, is_invoke, versioned
from .invoke import run_asgi, run_async, run_sync, run_websocket
from .specialize import CALL_THREAD_PREFIX, load

try:
    # The async phase's event loop: uvloop when it is installed, as uvicorn's `--loop auto` picks
    # it (docs/adr/0050-uvloop-async-phase.md). Imported here, at boot: a zygote's forks inherit it.
    import uvloop
    _new_loop = uvloop.new_event_loop
except ImportError:  # pragma: no cover - the platform's own environment installs it
    _new_loop = None

EXIT_FRAME_TOO_LARGE = 3
EXIT_OUT_OF_MEMORY = 70


def _libc_prctl():
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl
    except Exception:  # not Linux or no libc symbol: EOF on the socket still ends the process
        return None


# Looked up once, at import: a zygote's forks inherit it (a CDLL made in a fresh fork cost ~0.15 ms).
_PRCTL = _libc_prctl()


def _die_with_parent():
    """If the platform dies, so does this runtime (Linux PR_SET_PDEATHSIG = SIGKILL)."""
    if _PRCTL is not None:
        _PRCTL(1, 9)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _protocol_error(mid, message):
    return {"t": "error", "id": mid, "error": errors.plain(errors.PROTOCOL_ERROR, "ProtocolError", message),
            "logs": [], "fatal": False}


def _own_failure(mid, err):
    """The reply to a call whose run raised in the runtime's own code (ending its capture, encoding
    its reply), not in the function's: the call is answered at once and the runtime keeps serving.
    Unanswered, an ASGI call held its slot until the function's timeout, whose kill then took the
    runtime and every call it held, and a sync runtime exited (red team round 31). Only the
    exception's type is told: its text may hold what the call wrote."""
    return encode({"t": "error", "id": mid, "error": errors.plain(
        errors.CRASH, type(err).__name__, f"the runtime failed ending this call ({type(err).__name__}); its logs may be incomplete"),
        "logs": [], "fatal": False})


def _check(msg):
    """None if msg is a well-formed message, else the protocol_error reply for it."""
    if isinstance(msg, BadFrame):
        return _protocol_error(0, str(msg))
    if type(msg) is list:  # protocol v4: an `invoke` array (frames.py)
        if is_invoke(msg):
            return None
        mid = msg[1] if len(msg) > 1 and msg[0] == "invoke" and type(msg[1]) is int else 0
        return _protocol_error(mid, f"an array message must be an invoke of {INVOKE_LENGTH} fields "
                                    "(or one more: its HTTP version) "
                                    "(docs/runtime-protocol.md)")
    if not isinstance(msg, dict) or not isinstance(msg.get("t"), str) or not isinstance(msg.get("id"), int):
        mid = msg.get("id") if isinstance(msg, dict) and isinstance(msg.get("id"), int) else 0
        return _protocol_error(mid, "a message must be a map with a string `t` and an integer `id`")
    # Checked here so that a malformed invoke is not reported as the function's own failure.
    if msg["t"] == "invoke" and (not isinstance(msg.get("event"), dict)
                                 or not isinstance(msg.get("context") or {}, dict)):
        return _protocol_error(msg["id"], "an invoke message needs an `event` map and a `context` map")
    return None


def _no_websocket(mid):
    """The reply to a `wsopen` for a handler: only an ASGI app takes a WebSocket connection (the
    gateway answers 501 WEBSOCKET_NOT_SUPPORTED)."""
    return {"t": "error", "id": mid, "logs": [], "fatal": False, "handlerMs": 0.0,
            "error": errors.plain(errors.BAD_RETURN, "WebSocketNotSupported",
                                  "this function is a handler (handler(event, context)), which answers one request per "
                                  "call: only an ASGI app (FastAPI, Starlette, ...) takes WebSocket connections; serve "
                                  "one, or push to the client with Server-Sent Events")}


def _health(msg, inflight):
    return {"t": "health", "id": msg["id"], "ok": True, "rssBytes": _rss_bytes(), "inflight": inflight}


def _recv(conn):
    try:
        return conn.recv()
    except FrameTooLarge as err:
        conn.send(_protocol_error(0, str(err)))
        os._exit(EXIT_FRAME_TOO_LARGE)  # not sys.exit: that would wait for pool threads still in calls


def _generic(conn, sandbox):
    """Wait for a specialize message; returns (message, loaded, logs) or exits."""
    while True:
        msg = _recv(conn)
        if msg is None:
            sys.exit(0)
        bad = _check(msg)
        if bad:
            conn.send(bad)
            continue
        if type(msg) is list:  # an invoke array, before specialize
            conn.send(_protocol_error(msg[1], "unexpected message 'invoke' before specialize"))
            continue
        kind = msg["t"]
        if kind == "health":
            conn.send(_health(msg, 0))
        elif kind == "shutdown":
            sys.exit(0)
        elif kind == "warm":
            _warm()
        elif kind == "specialize":
            start = time.perf_counter()
            # The load's lines stream under the specialize's id, and one says where it is shortly
            # before the host's limit (loadwatch.py): a load that hangs keeps them. (A template's
            # load is not a call's: its lines go with its reply.)
            templating = bool(msg.get("template"))
            cap, token = capture.begin(None if templating else msg["id"])
            if not templating:
                loadwatch.arm(msg.get("initLimitMs"), cap)
            fn = msg.get("fn") or {}
            try:
                if sandbox is not None:
                    # Into the function's box for life, before any of its code is imported.
                    fn["dir"] = enter_box(sandbox, msg.get("box"))
                    # A memory cgroup bounds the box (its limit written, or enter_box raised): RLIMIT_AS is
                    # then not the memory limit (specialize.BOUNDED_ADDRESS_FACTOR).
                    fn["memoryCgroup"] = any("limit" in op for op in (msg.get("box") or {}).get("cgroup") or [])
                    if fn.get("depsDir"):  # issue 10: bound at /deps by the box (fp_sandbox/enter.py)
                        fn["depsDir"] = "/deps"
                loaded = load(fn, Flusher(conn))
            except BaseException as err:  # import, syntax or entrypoint errors of user code
                report = errors.with_memory_hint(errors.report(err, errors.INIT_ERROR, fn.get("dir")), err,
                                                 int(fn.get("memoryBytes") or 0))
                conn.send({"t": "error", "id": msg["id"], "error": report, "logs": capture.end(cap, token),
                           "fatal": True})
                sys.exit(0)
            return msg, loaded, (cap, token, start)
        else:
            conn.send(_protocol_error(msg["id"], f"unexpected message {kind!r} before specialize"))


_warmed = []


def _warm():
    """`warm` (the pool's runtime next in line, docs/adr/0114-specialize-pages-written-ahead.md):
    one round of the zygote's specialize rehearsal here, before any function is known, so the
    pages a specialize writes are this runtime's own when it comes (~0.7x its time, ~1.2 MiB more
    while it waits). Platform code only, on a throwaway module, everything it changes undone
    (fp_runtime/rehearsal.py); once per runtime; nothing is answered."""
    if _warmed:
        return
    _warmed.append(True)
    from .rehearsal import specialize_path
    try:
        specialize_path(1)
    except Exception:  # an optimization: the specialize works the same without it
        pass


def _specialized(msg, loaded, logs, start):
    loadwatch.disarm()
    reply = {"t": "specialized", "id": msg["id"], "initMs": (time.perf_counter() - start) * 1000.0,
             "contract": loaded.contract, "logs": logs}
    if msg.get("forked"):  # forked from a template, the module already imported (template.py)
        reply["forked"] = True
    if _not_forkable is not None:
        reply["notForkable"] = _not_forkable
    return reply


# Why this instance's process could not be a template (template.refusal), found right after its import.
_not_forkable = None
# Only a load this slow is checked: the check (a /proc/self/fd listing, a readlink each) costs
# 50-200 µs of a cold start, and the pool makes a template only for a version whose init took
# 50 ms (poolmgr/config.ts templateMinInitMs); below 20 ms of import even a slow lifespan rarely
# gets there, and a template that refuses still says why (ADR 0201).
_FORK_CHECK_MIN_S = 0.020


def _note_forkable(conn, start):
    global _not_forkable
    if time.perf_counter() - start < _FORK_CHECK_MIN_S:
        return
    try:
        _not_forkable = template.refusal(conn)
    except Exception:  # a hint: the load goes on without it
        _not_forkable = None


def _invoke_ok(msg) -> bool:
    """True for a well-formed invoke array (what _check passes and routes to a call), in a few
    type checks: msgpack gives exact types, and anything else takes _check's full path. (A v3 map
    invoke was made an array by the decoder: frames.Decoder.)"""
    return (type(msg) is list and (len(msg) == 15 or versioned(msg)) and msg[0] == "invoke" and type(msg[1]) is int
            and type(msg[8]) is list and type(msg[9]) is list)


def _serve_sync(conn, loaded):
    if loaded.concurrency > 1:
        _serve_sync_pool(conn, loaded)
        return
    # One call at a time on this thread (the usual case; issue 11): the loop reads, runs and
    # answers each invoke with no closure, no in-flight counter (a health check between calls
    # finds none in flight) and the reply frame built by run_sync.
    queue = conn.queue
    fill = conn.fill
    send_frame = conn.send_frame
    # The queue is read directly unless the connection's recv does more (remote.RemoteConn takes
    # `code` messages itself).
    direct = type(conn).recv is Conn.recv
    while True:
        if not direct:
            msg = _recv(conn)
            if msg is None:
                os._exit(0)
        else:
            while not queue:  # a read may end inside a frame (a large body): read until one is whole
                try:
                    more = fill()
                except FrameTooLarge as err:
                    conn.send(_protocol_error(0, str(err)))
                    os._exit(EXIT_FRAME_TOO_LARGE)
                if not more:
                    os._exit(0)
            msg = queue.pop(0)
        # _invoke_ok, inline (positions: frames.INVOKE_*).
        if (type(msg) is list and (len(msg) == 15 or versioned(msg)) and msg[0] == "invoke" and type(msg[1]) is int
                and type(msg[8]) is list and type(msg[9]) is list):
            try:
                frame, fatal = run_sync(loaded, msg)
            except Exception as err:  # the runtime's own code failed: answer, keep serving
                frame, fatal = _own_failure(msg[1], err), False
            send_frame(frame)
            if fatal:
                os._exit(EXIT_OUT_OF_MEMORY)
        else:
            _other(conn, msg, 0)


def _exit_after_shutdown():
    """A `shutdown` (the instance reaped, replaced or drained) ends the process as an interpreter's
    exit does: the `atexit` callbacks run first, after an ASGI app's lifespan shutdown, as under
    uvicorn and gunicorn. SDKs flush what they hold there (sentry-sdk's transport, OpenTelemetry's
    batch span processor, analytics clients, `logging.shutdown`); os._exit alone lost it (apps
    round 6, ADR 0095). The pool's shutdown grace bounds them (SIGKILL after it). A callback that
    raises is reported on stderr by atexit itself and the others still run."""
    atexit._run_exitfuncs()
    os._exit(0)


def _other(conn, msg, inflight):
    """Any message of the sync phase but a well-formed invoke."""
    bad = _check(msg)
    if bad:
        conn.send(bad)
    elif msg["t"] in ("ack", "cancel", "wsin"):
        pass  # only ASGI responses stream; one arriving late for any call is ignored
    elif msg["t"] == "wsopen":
        conn.send(_no_websocket(msg["id"]))
    elif msg["t"] == "health":
        conn.send(_health(msg, inflight))
    elif msg["t"] == "shutdown":
        _exit_after_shutdown()
    else:
        conn.send(_protocol_error(msg["id"], f"unexpected message {msg['t']!r}"))


def _serve_sync_pool(conn, loaded):
    pool = ThreadPoolExecutor(loaded.concurrency, thread_name_prefix=CALL_THREAD_PREFIX)  # a call's stack size (specialize.py)
    inflight = [0]

    def one(msg):
        inflight[0] += 1
        try:
            frame, fatal = run_sync(loaded, msg)
        except Exception as err:  # the runtime's own code failed: answer, keep serving
            frame, fatal = _own_failure(msg[1], err), False
        finally:
            inflight[0] -= 1
        conn.send_frame(frame)
        if fatal:
            os._exit(EXIT_OUT_OF_MEMORY)

    while True:
        msg = _recv(conn)
        if msg is None:
            os._exit(0)
        if _invoke_ok(msg):
            pool.submit(one, msg)
        else:
            _other(conn, msg, inflight[0])


async def _serve_async(conn, loaded, msg, pending):
    loop = asyncio.get_running_loop()
    cap, token, start = pending
    conn.sock.setblocking(False)
    if loaded.contract == "asgi":
        loaded.lifespan = asgi.Lifespan(loaded.target)
        try:
            await loaded.lifespan.startup()
        except BaseException as err:  # a failing startup handler is an init error of the function
            report = errors.report(err, errors.INIT_ERROR, loaded.dir)
            await conn.asend(loop, {"t": "error", "id": msg["id"], "error": report,
                                    "logs": capture.end(cap, token), "fatal": True})
            return
    await conn.asend(loop, _specialized(msg, loaded, capture.end(cap, token), start))
    tasks = set()

    # The host may pipeline calls beyond `concurrency`; they start in arrival order, never more
    # than `concurrency` at once. A call waiting for a slot is only its message in `waiting`: its
    # task is made when it starts, not parked on a semaphore.
    waiting = collections.deque()
    free = [loaded.concurrency]

    def start(a):
        tasks.add(loop.create_task(one(a)))

    if loaded.contract == "asgi":
        def run(a):  # the array as it came: the scope is read from it (invoke.run_asgi)
            if type(a) is dict:  # a WebSocket connection (`wsopen`): a call for its lifetime
                return run_websocket(loaded, a, conn, loop)
            return run_asgi(loaded, a, conn, loop)
    else:
        async def run(a):
            reply = await run_async(loaded, invoke_message(a))  # handlers read the map form
            return encode(reply), reply.get("fatal")

    async def one(a):
        try:
            try:
                frame, fatal = await run(a)
            except Exception as err:  # the runtime's own code failed: answer, keep serving
                frame, fatal = _own_failure(a["id"] if type(a) is dict else a[1], err), False
            finally:
                if waiting:
                    start(waiting.popleft())
                else:
                    free[0] += 1
            await conn.asend_frame(loop, frame)
            if fatal:
                os._exit(EXIT_OUT_OF_MEMORY)
        finally:
            # Here rather than in a done callback: no extra turn of the loop per call.
            tasks.discard(asyncio.current_task(loop))  # given the loop: no getpid() (3.11)

    replies = set()  # not calls: not counted in flight

    def reply(message):
        # A reply outside any call (protocol error, health): a task of its own, so the reader never waits.
        replies.add(loop.create_task(replying(message)))

    async def replying(message):
        try:
            await conn.asend(loop, message)
        finally:
            replies.discard(asyncio.current_task(loop))

    async def too_large(err):
        await conn.asend(loop, _protocol_error(0, str(err)))
        os._exit(EXIT_FRAME_TOO_LARGE)

    ended = loop.create_future()  # set at end of stream or `shutdown`

    def on_message(m):
        # Called by the socket's reader callback, once per message, in arrival order.
        if ended.done():
            return
        if m is None or isinstance(m, FrameTooLarge):
            ended.set_result(None if m is None else loop.create_task(too_large(m)))
            return
        # A well-formed invoke array, before _check's full path (a call here costs far less than
        # the asyncio task it starts: no inline copy as in the sync loop).
        if _invoke_ok(m):
            if free[0] > 0:
                free[0] -= 1
                start(m)
            else:
                waiting.append(m)
            return
        bad = _check(m)
        if bad:
            reply(bad)
        elif m["t"] in ("ack", "cancel"):
            streaming.route(m)  # a streamed response's window and the client's disconnect
        elif m["t"] == "wsin":
            websocket.route(m)  # a WebSocket client's message, or its close
        elif m["t"] == "wsopen" and loaded.contract == "asgi":
            if free[0] > 0:  # a call as an invoke is, in the same order and slots
                free[0] -= 1
                start(m)
            else:
                waiting.append(m)
        elif m["t"] == "wsopen":
            reply(_no_websocket(m["id"]))
        elif m["t"] == "health":
            reply(_health(m, len(tasks) + len(waiting)))
        elif m["t"] == "shutdown":
            loop.remove_reader(conn.sock)
            ended.set_result(None)
        else:
            reply(_protocol_error(m["id"], f"unexpected message {m['t']!r}"))

    conn.listen(loop, on_message)
    exiting = await ended
    if exiting is not None:
        await exiting  # the protocol_error reply to an oversized frame, then the process exits
    if loaded.lifespan:
        await loaded.lifespan.shutdown()
    if exiting is not None:
        os._exit(0)  # an oversized frame: its reply went out, nothing else runs
    # A shutdown (or the end of the stream): main() closes the loop as asyncio.run() does (the
    # app's leftover tasks cancelled) and runs the atexit callbacks outside it, as at an
    # interpreter's exit after uvicorn's loop ended (a callback may call asyncio.run()).


def _open(argv):
    if len(argv) == 2 and argv[0] == "--fd":
        fd = int(argv[1])
        os.set_inheritable(fd, False)  # the host made it inheritable; user subprocesses must not get it
        return socket.socket(fileno=fd)
    if len(argv) == 2 and argv[0] == "--listen" and argv[1].startswith("unix:"):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(argv[1][5:])
        server.listen(1)
        print("FP_LISTENING", flush=True)
        sock, _ = server.accept()
        server.close()
        return sock
    print("usage: bootstrap.py --fd N | --listen unix:PATH | --listen tcp:HOST:PORT ... (fp_runtime/remote.py)",
          file=sys.stderr)
    sys.exit(2)


def enter_box(sandbox, spec):
    """The box step of specialize (fp_sandbox/enter.py); a boxed runtime never runs code unboxed."""
    if not isinstance(spec, dict):
        raise errors.SandboxError("this runtime is sandboxed and the specialize message carries no box")
    from fp_sandbox.enter import enter  # already imported at spawn (fp_sandbox/keeper.py)
    try:
        workdir = enter(sandbox, spec)
    except Exception as err:  # whatever failed, the function's code must not run
        raise errors.SandboxError(f"the sandbox could not be entered: {type(err).__name__}: {err}") from None
    errors.box_file_bytes(spec.get("rlimits"))
    return workdir


_said_hello = []
_PYTHON = sys.version.split()[0]


def _hello(boot, early=False) -> dict:
    hello = {"t": "hello", "v": PROTOCOL_VERSION, "pid": os.getpid(), "python": _PYTHON,
             "bootMs": (time.perf_counter() - boot) * 1000.0}
    if early:  # `settled` follows once the runtime reads its messages
        hello["early"] = True
    return hello


def say_hello(fd: int, boot: float) -> None:
    """The hello, written on the host's descriptor `fd` before anything else of the runtime is set
    up; once (`main` does not say it again). A forked box's runtime says it first thing after its
    fork (fp_sandbox/keeper.py `init`, docs/adr/0127-runtime-hello-first.md)."""
    frame = memoryview(encode(_hello(boot, True)))
    while frame:
        frame = frame[os.write(fd, frame):]
    _said_hello.append(True)


def main(argv, boot, sandbox=None) -> int:
    # The hello first (the host counts the runtime as ready from it), then what only the messages
    # after it need: the box's descriptors closed and the at-fork hooks a bare fork left (Box.settle),
    # the parent-death signal, the connection object. None of it runs any function code, and all
    # of it is done before the first message is read (docs/adr/0127-runtime-hello-first.md).
    fd = int(argv[1]) if len(argv) == 2 and argv[0] == "--fd" else -1
    if fd >= 0 and not _said_hello:
        say_hello(fd, boot)
    if sandbox is not None:
        sandbox.settle()
    _die_with_parent()
    conn = remote.open_conn(argv) if remote.wants(argv) else Conn(_open(argv))
    if fd < 0:
        conn.send(_hello(boot))
    else:
        # Set up: from here on a death is the function's to answer for. Before it, the host takes a
        # death for the runtime's (RUNTIME_UNAVAILABLE) and its calls try another (reliability round 6).
        conn.send({"t": "settled"})
    if sandbox is not None:
        # The box's function-independent steps, while this runtime waits in the pool.
        sandbox.ahead(conn.sock.fileno() if type(conn) is Conn else -1)
    msg, loaded, pending = _generic(conn, sandbox)
    if msg.get("template"):  # returns only in an instance the template forked
        conn, msg, pending = template.serve(conn, msg, loaded, pending)
    else:
        _note_forkable(conn, pending[2])
    if loaded.contract == "handler" and not loaded.is_async:
        cap, token, start = pending
        conn.send(_specialized(msg, loaded, capture.end(cap, token), start))
        _serve_sync(conn, loaded)
    else:
        with asyncio.Runner(loop_factory=_new_loop) as runner:
            runner.run(_serve_async(conn, loaded, msg, pending))
        _exit_after_shutdown()
    return 0
