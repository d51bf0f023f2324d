"""A copy of a runtime/ whose specialize stamps each of its steps (issue 11, bench/README.md "Where the time goes", hot5).

    python3 bench/stage_stamps.py <copy of a checkout's runtime/>

Patches the copy in place (never a checkout's own runtime/): `fp_runtime/stamps.py` is added, and a
CLOCK_MONOTONIC stamp (`time.monotonic_ns()`, the host's `process.hrtime.bigint()` clock) is taken at
each step of the generic runtime's specialize (`main._generic`), the box (`fp_sandbox/enter.py`)
and the load (`specialize.load`), with the process's minor faults and the thread's CPU time at the
frame's receipt and at the reply; the stamps go to the host in the `specialized` reply (`stages`),
which `bench/ab-stamps.ts` reads. Fails (AssertionError) where the code it patches has changed:
then adapt the strings below. Make the copy under /work (a copy under /tmp gets no prepared root:
3g), with its built fp-init, e.g. `cp -a runtime /work/probe/A/`; then `python -m compileall`.
"""
import sys
R = sys.argv[1].rstrip("/") + "/"


def patch(path, pairs):
    """Each `old` (found exactly once) replaced by its `new`."""
    with open(path) as f:
        s = f.read()
    for old, new in pairs:
        assert s.count(old) == 1, (path, old)
        s = s.replace(old, new)
    with open(path, "w") as f:
        f.write(s)


# The stamps: (name, CLOCK_MONOTONIC ns), and at the frame's receipt and the reply (name#flt, minor
# faults) and (name#cpu, the thread's CPU ns); sent in `specialized` as `stages`.
STAMPS = '''import resource
import time

S = []
_ns = time.monotonic_ns


def st(name):
    S.append((name, _ns()))


def res(name):
    S.append((name + "#flt", resource.getrusage(resource.RUSAGE_SELF).ru_minflt))
    S.append((name + "#cpu", time.thread_time_ns()))
'''
with open(R + "fp_runtime/stamps.py", "w") as out:
    out.write(STAMPS)
patch(R + "fp_runtime/main.py", [
    ("        msg = _recv(conn)\n        if msg is None:\n            sys.exit(0)\n        bad = _check(msg)",
     "        _st('poll')\n        msg = _recv(conn)\n        _st('recv')\n        _res('recv')\n        if msg is None:\n            sys.exit(0)\n        bad = _check(msg)"),
    ("            cap, token = capture.begin(None if templating else msg[\"id\"])\n            if not templating:\n                loadwatch.arm(msg.get(\"initLimitMs\"), cap)\n",
     "            _st('check')\n            cap, token = capture.begin(None if templating else msg[\"id\"])\n            _st('capbegin')\n            if not templating:\n                loadwatch.arm(msg.get(\"initLimitMs\"), cap)\n            _st('arm')\n"),
    ("                loaded = load(fn, Flusher(conn))\n",
     "                _st('boxed')\n                loaded = load(fn, Flusher(conn))\n                _st('loaded')\n"),
    ("    if _not_forkable is not None:\n        reply[\"notForkable\"] = _not_forkable\n    return reply",
     "    if _not_forkable is not None:\n        reply[\"notForkable\"] = _not_forkable\n    _res('reply')\n    _st('reply')\n    from .stamps import S\n    reply['stages'] = list(S)\n    S.clear()\n    return reply"),
])
patch(R + "fp_runtime/main.py", [("\ndef _generic(conn, sandbox):", "\nfrom .stamps import st as _st, res as _res\n\n\ndef _generic(conn, sandbox):")])
with open(R + "fp_sandbox/enter.py") as f:
    _AFTER_UID = 'os.environ["HOME"]' if 'clear_capabilities()\n    os.environ["HOME"]' in f.read() else "if box.seccomp"
patch(R + "fp_sandbox/enter.py", [
    ("    forked.wait_joined(box)  # a forked box joins its cgroups after hello (forked.py)\n    for op in spec.get(\"cgroup\") or []:\n        _cgroup_op(op)\n",
     "    forked.wait_joined(box)  # a forked box joins its cgroups after hello (forked.py)\n    _st('joined')\n    for op in spec.get(\"cgroup\") or []:\n        _cgroup_op(op)\n    _st('cgroupops')\n"),
    ("        _bind_read_only(box, code, CODE)\n    if spec.get(\"depsDir\"):",
     "        _bind_read_only(box, code, CODE)\n    _st('code')\n    if spec.get(\"depsDir\"):"),
    ("    view.write_identity(view.IDENTITY, \"fn\", uid, gid)  #", "    _st('become0')\n    view.write_identity(view.IDENTITY, \"fn\", uid, gid)  #"),
    ("    view.cover_hidden()  # with", "    _st('identity')\n    view.cover_hidden()  # with"),
    ("    libc.sethostname(hostname)\n", "    _st('cover')\n    libc.sethostname(hostname)\n    _st('hostname')\n"),
    ("    view.read_only_proc(box.mode == \"userns\")\n", "    _st('rootro')\n    view.read_only_proc(box.mode == \"userns\")\n    _st('procro')\n"),
    ("    if box.mode == \"root\" or os.getuid() != uid:", "    _st('rlimits')\n    if box.mode == \"root\" or os.getuid() != uid:"),
    # HOME and USER: set in `become` before ADR 0261, ahead since (`common_steps`): 'uid' → 'homeuser' then ~0.
    (f"        libc.clear_capabilities()\n    {_AFTER_UID}", f"        libc.clear_capabilities()\n    _st('uid')\n    {_AFTER_UID}"),
    ("    if box.seccomp is not None:\n        box.seccomp.install()\n", "    _st('homeuser')\n    if box.seccomp is not None:\n        box.seccomp.install()\n    _st('seccomp')\n"),
])
patch(R + "fp_sandbox/enter.py", [("from . import forked, libc, view\n", "from . import forked, libc, view\nfrom fp_runtime.stamps import st as _st\n")])
patch(R + "fp_runtime/specialize.py", [
    ("    directory = os.path.realpath(spec[\"dir\"])\n", "    _st('load0')\n    directory = os.path.realpath(spec[\"dir\"])\n"),
    ("    os.chdir(directory)\n    sys.path.insert(0, directory)\n", "    _st('env')\n    os.chdir(directory)\n    sys.path.insert(0, directory)\n"),
    ("    level = os.environ.get(\"LOG_LEVEL\", \"INFO\").upper()\n", "    _st('paths')\n    level = os.environ.get(\"LOG_LEVEL\", \"INFO\").upper()\n"),
    ("    if flusher is not None:\n        flusher.install()\n    limit_memory(", "    _st('capinstall')\n    if flusher is not None:\n        flusher.install()\n    _st('flusher')\n    limit_memory("),
    ("    fresh_event_loop_state()\n    module = importlib.import_module(module_name)\n", "    _st('memlimit')\n    fresh_event_loop_state()\n    _st('loopstate')\n    module = importlib.import_module(module_name)\n    _st('import')\n"),
])
patch(R + "fp_runtime/specialize.py", [("\ndef load(spec: dict, flusher=None) -> Loaded:", "\nfrom .stamps import st as _st\n\n\ndef load(spec: dict, flusher=None) -> Loaded:")])
