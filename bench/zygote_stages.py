"""Where a forked box's time goes, stage by stage (bench/README.md section 3, "Zygotes").

    .venv/bin/python bench/zygote_stages.py [runtime dir] [n]      (as root: root-mode boxes)

One Python process preloads like a default zygote (fp_runtime/zygote.py `preload`), then forks
`n` root-mode boxes (no cgroups) through the zygote's own `_fork`, each saying hello on a
socketpair. The box's functions are wrapped to record CLOCK_MONOTONIC timestamps (they run in
init and the runtime; the runtime sends them with its hello); prints the p50 of each step
between consecutive marks and of the whole, from before the fork to the hello received. The
runtime directory defaults to this checkout's, so another checkout's runtime can be measured
the same way (its `_fork` may take one argument fewer: both are handled).
"""
import gc
import os
import signal
import socket
import statistics
import sys
import time

RUNTIME = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime")
N = int(sys.argv[2]) if len(sys.argv) > 2 else 40
sys.path.insert(0, os.path.abspath(RUNTIME))

try:  # the at-fork hooks recorded, as the zygote's entry does (runtime/zygote.py; absent before ADR 0127)
    from fp_sandbox import atfork  # noqa: E402
    atfork.record()
except ImportError:
    atfork = None
from fp_runtime import zygote  # noqa: E402

zygote.preload("default")
if atfork is not None:
    atfork.stop()
from fp_runtime.frames import Decoder, encode  # noqa: E402
import fp_runtime.main as runtime_main  # noqa: E402
from fp_sandbox import forked, keeper, libc, view  # noqa: E402

MARKS = []


def mark(name):
    MARKS.append((name, time.perf_counter_ns()))


def wrap(module, attr):
    inner = getattr(module, attr, None)
    if inner is None:
        return

    def wrapped(*args, **kwargs):
        mark(attr + "<")
        try:
            return inner(*args, **kwargs)
        finally:
            mark(attr + ">")
    setattr(module, attr, wrapped)


for module, attr in [(libc, "unshare"), (libc, "setns"), (view, "build"), (view, "finish"), (keeper, "_runtime"),
                     (keeper, "_runtime_setup"), (keeper, "_limit"), (forked, "begin"), (forked, "redirect_output"),
                     (libc, "sethostname")]:
    wrap(module, attr)
_install = libc.SeccompProgram.install


def install(self):
    mark("seccomp<")
    _install(self)
    mark("seccomp>")


libc.SeccompProgram.install = install
_fork = os.fork


def fork():
    mark("fork<")
    pid = _fork()
    if pid == 0:
        mark("fork>")
    return pid


os.fork = fork
if atfork is not None:  # init forks the runtime bare (ADR 0127): the same marks
    _fork_bare = atfork.fork_bare

    def fork_bare(one_thread=False, hooks_later=False):
        if not hooks_later:
            return _fork_bare(one_thread, hooks_later)
        mark("fork<")
        pid = _fork_bare(one_thread, hooks_later)
        if pid == 0:
            mark("fork>")
        return pid

    atfork.fork_bare = fork_bare


def hello(argv, boot, sandbox=None):
    mark("hello")
    os.write(3, encode({"t": "hello", "marks": MARKS}))
    os.read(3, 1)
    return 0


def say_hello(fd, boot):  # a runtime that says hello before main (ADR 0127): the marks go with it
    mark("hello")
    os.write(fd, encode({"t": "hello", "marks": MARKS}))


def after_hello(argv, boot, sandbox=None):
    os.read(3, 1)
    return 0


if hasattr(runtime_main, "say_hello"):
    runtime_main.say_hello, runtime_main.main = say_hello, after_hello
else:
    runtime_main.main = hello
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
os.setsid()
extra = [zygote._Boxes()] if hasattr(zygote, "_Boxes") else []
gc.collect()
gc.freeze()
box = {"mode": "root", "codeRoots": ["/tmp"], "tmpBytes": 64 << 20, "cgroupJoin": [], "cgroupBinds": {}}
steps, totals = {}, []
for i in range(N + 3):
    data, data_child = socket.socketpair()
    report, report_child = socket.socketpair()
    MARKS.clear()
    start = time.perf_counter_ns()
    zygote._fork((data_child, {"t": "fork", "id": "x", "role": "data", "box": box}), (report_child, None), [data, report], *extra)
    decoder, messages = Decoder(), []
    while not messages:
        messages = decoder.feed(data.recv(1 << 20))
    end = time.perf_counter_ns()
    data.close()
    while report.recv(65536):
        pass
    report.close()
    if i >= 3:
        previous, at = "start", start
        for name, t in [*messages[0]["marks"], ("received", end)]:
            steps.setdefault(f"{previous} -> {name}", []).append((t - at) / 1e6)
            previous, at = name, t
        totals.append((end - start) / 1e6)
    time.sleep(0.03)
for step, samples in steps.items():
    print(f"{statistics.median(samples):7.3f} ms  {step}  (n={len(samples)})")
print(f"{statistics.median(totals):7.3f} ms  fork → hello received, p50 (min {min(totals):.3f}, max {max(totals):.3f}); load {os.getloadavg()[0]:.2f}")
