"""A box root prepared once per zygote, for the boxes it forks in root mode (docs/adr/0019-zygotes.md).

Most of a box's root is the same for every box: the host's /usr, /lib, a few /etc files, the
interpreter and the runtime read-only, /dev, the hidden code roots (view.py `prepare`). A helper
forked from the zygote builds that once in a mount namespace of its own and exits; the zygote
keeps the namespace open (a descriptor of /proc/<helper>/ns/mnt) and hands it to each child, which
enters it, copies it (`unshare(CLONE_NEWNS)`: a namespace of its own, whose mounts are copies) and
adds only its own mounts (view.py `finish`: /tmp, /dev/shm, /proc, identity files, cgroups).

What the boxes of one template share is read-only in each of them, or never written after the
template was built: a box writes only into mounts of its own. The template follows the host: it is
built again when the configuration it depends on changes (view.template_key) and when a host
/etc file bound into it was replaced by another (view.etc_stamp, looked at no more than once a
second); files changed in place show through the binds. No template (a box of another kind, or
preparing failed): the child builds its whole root, as a spawned box does.
"""
import os
import time
import traceback

from . import libc, view

RECHECK_S = 1.0


class Template:
    __slots__ = ("_fd", "_key", "_etc", "_checked")

    def __init__(self):
        self._fd = -1
        self._key = None
        self._etc = None
        self._checked = 0.0

    def fd(self, cfg: dict) -> int:
        """The prepared namespace for a box of `cfg` (built now if needed), or -1 (the box builds its whole root)."""
        key = view.template_key(cfg)
        if key is None:
            return -1
        now = time.monotonic()
        if key == self._key and now - self._checked < RECHECK_S:
            return self._fd
        self._checked = now
        etc = view.etc_stamp()
        if key == self._key and etc == self._etc:
            return self._fd
        self.close()
        self._key, self._etc = key, etc
        self._fd = _prepare(cfg)
        return self._fd

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = -1


def _prepare(cfg: dict) -> int:
    """Forks the helper that builds the shared root in a mount namespace of its own; returns a
    descriptor of that namespace (it lives as long as the descriptor), or -1."""
    ready_r, ready_w = os.pipe()
    hold_r, hold_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the helper: never back into the zygote's loop
        code = 1
        try:
            os.close(ready_r)
            os.close(hold_w)
            libc.unshare(libc.CLONE_NEWNS)
            view.prepare(cfg)
            os.write(ready_w, b"1")
            os.read(hold_r, 1)  # until the zygote holds the namespace
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(ready_w)
    os.close(hold_r)
    try:
        if os.read(ready_r, 1) != b"1":
            return -1
        return os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return -1
    finally:
        os.close(ready_r)
        os.close(hold_w)  # the helper exits (the zygote ignores SIGCHLD: the kernel reaps it)
