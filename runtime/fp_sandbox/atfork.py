"""fork(2) without CPython's fork handling, and the interpreter's at-fork hooks run later, by hand
(docs/adr/0127-runtime-hello-first.md).

`os.fork()` runs, in the child, the interpreter's own re-initialization (locks, thread states) and
then every `after_in_child` hook registered with `os.register_at_fork` (threading's, logging's,
concurrent.futures', random's reseed when it is imported, ...): in a fresh fork of a zygote ~0.6 ms
of copy-on-write faults before the child's first line (bench/README.md 3e, 3j). Where the parent
has one thread, the re-initialization has nothing to do (no lock can be held by a thread the child
lacks), and the hooks can run later, at a moment the child chooses: a forked box's runtime says
hello first and runs them right after (fp_runtime/main.py), before it reads any message, so before
any function code. For that the hooks must be known: `record` (the zygote's entry, before any other
import) wraps `os.register_at_fork` so that every `after_in_child` hook the zygote's imports register
is also kept here, in order; `stop` puts the builtin back once the zygote has preloaded (a runtime
sees the builtin). Without a recording (a process not started that way) `fork_bare` is `os.fork()`.
"""
import os
import posix

_register = posix.register_at_fork
_child_hooks = []
_recorded = []
_pending = []  # in a child of fork_bare(hooks_later=True) until run_pending


def _recording(*, before=None, after_in_child=None, after_in_parent=None):
    kwargs = {name: hook for name, hook in (("before", before), ("after_in_child", after_in_child),
                                             ("after_in_parent", after_in_parent)) if hook is not None}
    _register(**kwargs)  # the interpreter's own list too: os.fork() runs them as always
    if after_in_child is not None:
        _child_hooks.append(after_in_child)


def record() -> None:
    """From now on, keeps every `after_in_child` hook registered (the zygote's entry, first thing)."""
    os.register_at_fork = posix.register_at_fork = _recording
    _recorded.append(True)


def stop() -> None:
    """The builtin `os.register_at_fork` again (the zygote, once it preloaded: before it forks)."""
    os.register_at_fork = posix.register_at_fork = _register


def _libc_fork():
    try:
        import ctypes
        return ctypes.PyDLL(None, use_errno=True).fork  # PyDLL: called holding the GIL
    except Exception:
        return None


_LIBC_FORK = _libc_fork()


def fork_bare(one_thread: bool = False, hooks_later: bool = False) -> int:
    """fork(2) without CPython's fork handling (returns as os.fork() does). Safe only in a process
    of one thread (the child's interpreter state, GIL, import lock and thread ident, is the parent's,
    held by the same thread): `one_thread` says the caller knows it has one (a box's init), else it
    is looked up (a preset's warm-up may leave idle workers for a while). `hooks_later`: the child
    runs the at-fork hooks itself (`run_pending`), which needs a recording of them; without it the
    child never runs them (a root-mode box's init: a few fixed steps on this one thread, then the
    runtime's fork, which runs them). With more threads, without libc's fork, or with `hooks_later`
    and no recording, this is os.fork()."""
    if _LIBC_FORK is None or (hooks_later and not _recorded) or (
            not one_thread and len(os.listdir("/proc/self/task")) != 1):
        return os.fork()
    pid = _LIBC_FORK()
    if pid < 0:
        import ctypes
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    if pid == 0 and hooks_later:
        _pending.append(True)
    return pid


def run_pending() -> None:
    """In a child of `fork_bare(hooks_later=True)`, what os.fork() would have run there, in the same
    order (registration order), once; a hook that raises is reported and the others run, as CPython
    does. Elsewhere nothing."""
    if not _pending:
        return
    _pending.clear()
    for hook in _child_hooks:
        try:
            hook()
        except Exception:
            import traceback
            traceback.print_exc()
