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
The hooks that only put thread and lock state right are not run by hand (`_nothing_to_do`).
"""
import os
import posix

_register = posix.register_at_fork
_child_hooks = []
_recorded = []
_pending = []  # in a child of fork_bare(hooks_later=True) until run_pending
_skipped = []  # the hooks run_pending left out as nothing to do (`_nothing_to_do`), once it ran


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


def _nothing_to_do(hook) -> bool:
    """A hook that only puts thread and lock state right after a fork: threading's `_after_fork`
    (other threads marked gone, its own locks made again), logging's lock re-initialization (its
    `before` hook, which took the locks in the parent, did not run at a bare fork) and a lock's
    `_at_fork_reinit` (concurrent.futures'). After `fork_bare` of a process of one thread that holds
    none of these locks (a box's init, in its own code), that state is already right: the same
    thread, the same ident, every lock free. Run in a fresh fork, they wrote ~0.35 MiB of pages an
    idle runtime kept for nothing (bench/README.md, "Where the time goes"). Every other hook runs:
    `random`'s reseed, bson's, anything a preset's imports registered."""
    module, name = getattr(hook, "__module__", None), getattr(hook, "__qualname__", None)
    if (module, name) in (("threading", "_after_fork"), ("logging", "_after_at_fork_child_reinit_locks")):
        return True
    return name in _LOCK_REINITS


_LOCK_REINITS = ("lock._at_fork_reinit", "RLock._at_fork_reinit")


def run_pending() -> None:
    """In a child of `fork_bare(hooks_later=True)`, what os.fork() would have run there that has
    something to do (`_nothing_to_do`), in the same order (registration order), once; a hook that
    raises is reported and the others run, as CPython does. Elsewhere nothing."""
    if not _pending:
        return
    _pending.clear()
    for hook in _child_hooks:
        if _nothing_to_do(hook):
            _skipped.append(hook)
            continue
        try:
            hook()
        except Exception:
            import traceback
            traceback.print_exc()
