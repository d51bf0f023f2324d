"""What one use of a box left behind, removed before the next: the code check's warmed checker
(runtime/validate.py `zygote`) runs one check after another, each workspace's, as one uid in one
box, so nothing of a check may outlive it (loose ends round 14, docs/adr/0248).

Only for a process that is not PID 1 of a PID namespace of its own (a box's pid 2: `kill(-1)`
reaches every process of that namespace it may signal, and no other). Never call it outside a box.
"""
import ctypes
import os
import signal

from . import libc

PR_SET_CHILD_SUBREAPER = 36
IPC_RMID = 0
_libc = ctypes.CDLL(None, use_errno=True)


def adopt_orphans() -> None:
    """Makes this process its descendants' reaper (not the box's init): a process its child left
    behind (forked, detached, its parent gone) is still this one's to wait for, so `processes` can
    tell when every one is gone."""
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1)


def processes() -> None:
    """Kills every other process of this PID namespace this process may signal (the box's init is
    spared by the kernel) and waits for each: after `adopt_orphans`, all are its descendants.
    Repeated until none is left: one forked while the first kill ran is caught by the next."""
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:  # none left to signal
            _reap()
            return
        _reap()


def _reap() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def ipc_objects() -> None:
    """Removes every System V message queue, semaphore set and shared memory segment of this IPC
    namespace (the box's own) this process may remove: they outlive the process that made them."""
    calls = (("msg", lambda i: _libc.msgctl(i, IPC_RMID, None)), ("sem", lambda i: _libc.semctl(i, 0, IPC_RMID)),
             ("shm", lambda i: _libc.shmctl(i, IPC_RMID, None)))
    for table, remove in calls:
        try:
            with open(f"/proc/sysvipc/{table}", encoding="ascii") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 1 and fields[1].isdigit():
                remove(int(fields[1]))  # another's (EPERM) stays: the box's processes are all one uid
