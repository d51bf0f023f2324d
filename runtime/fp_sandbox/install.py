"""Where the platform may be installed: the host paths every box shows at their own paths (the
interpreter's prefixes, the virtual environment, this runtime's directory) against the paths the box
keeps for itself (docs/platform.md, "Where to install"; docs/adr/0112-install-paths.md).

A box (view.py) binds each of those host paths read-only at the same path in its root, beside its
own mount points. A host path at, under or above one of them cannot be shown: the box's own
mount hides it (a clone at /code/app: specialize binds the function's code at /code, and the
runtime's interpreter is gone), or it hides the box's. `check` says which, before anything is
mounted; the platform runs this file at start (`python -I install.py`: not -S, site.py is what
sets sys.prefix to the venv; one JSON line, exit 3 on a collision) and refuses to start with INSTALL_PATH_COLLIDES instead of a runtime that fails.

Not reserved (the box makes room): /tmp (bound over the box's own tmpfs), /var (its /var/tmp is
the box's /tmp, or the host's folder when the platform lives there), /etc, /run and /opt, /srv,
/home, … The builder's box adds its binds (deps_build.py: `cfg["binds"]`), checked the same way.
"""
import functools
import json
import os
import sys

# The box's own mount points (view.py `_shared`, enter.py at specialize, the builder's and the
# code check's binds: controlplane/deps/builder.ts BOX_*, controlplane/service/check-zygote.ts BOX_DIR).
RESERVED = ("/code", "/deps", "/.fp", "/proc", "/dev", "/sys", "/run/fp-data", "/run/fp-tpl",
            "/run/fp-check", "/run/fp-build", "/run/fp-wheels", "/etc/fp-deps-ca.pem")
RUNTIME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class InstallPathCollision(Exception):
    """A host path the box shows collides with one of its own mount points."""


def _within(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


@functools.lru_cache(maxsize=1)
def python_paths() -> tuple:
    """The interpreter's prefixes and this runtime's directory, outermost first, nested ones dropped.
    Resolved on the host's root (before any pivot): a symlink there would dangle afterwards."""
    paths = sorted({os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, RUNTIME_DIR)})
    kept = []
    for path in paths:
        if path.startswith("/usr/") or any(_within(path, k) for k in kept):
            continue
        kept.append(path)
    return tuple(kept)


@functools.lru_cache(maxsize=1)
def prefix_links() -> tuple:
    """(path, target) for each symlink on the way to an interpreter prefix (a virtual environment
    linked into a git worktree, a clone reached through /opt/app -> /srv/app): the box gets the
    same symlinks, so sys.prefix, sys.path and sys.executable still resolve."""
    links = []
    for prefix in sorted({sys.base_prefix, sys.prefix}):
        path = os.path.abspath(prefix)
        while os.path.realpath(path) != path:
            parts = path.split("/")
            for end in range(2, len(parts) + 1):
                head = "/".join(parts[:end])
                if os.path.islink(head):
                    target = os.path.realpath(head)
                    if (head, target) not in links:
                        links.append((head, target))
                    path = target + path[len(head):]
                    break
            else:
                break
    return tuple(links)


def collisions(shown, reserved=RESERVED) -> list:
    """(path, reserved) for each path of `shown` at, under or above one of `reserved`."""
    return [(path, top) for path in shown for top in reserved if _within(path, top) or _within(top, path)]


def check(extra=(), private=()) -> None:
    """Raises InstallPathCollision naming the first collision of the shown paths with the box's
    mount points (RESERVED and `extra`: a builder box's bind destinations), or the first of the
    platform's `private` paths (its state directory, its keys) that a shown path holds: every
    function could read it (an interpreter built with --prefix=$HOME shows the whole home)."""
    shown = list(python_paths()) + [path for path, _ in prefix_links()]
    found = collisions(shown, RESERVED + tuple(extra))
    if found:
        path, top = found[0]
        raise InstallPathCollision(
            f"{path} (the runtimes' Python or the platform's runtime/) collides with {top}, a path every "
            f"function's box keeps for itself: install the platform (its clone and its .venv's Python) "
            f"elsewhere, e.g. under /opt, /srv or a home directory")
    for own in private:
        real = os.path.realpath(own)
        for path in python_paths():
            if _within(real, path):
                raise InstallPathCollision(
                    f"{own} (the platform's state or keys) is inside {path}, which every function's box shows "
                    f"read-only (the runtimes' Python or the platform's runtime/): every function could read it; "
                    f"keep the state directory and keys elsewhere")


if __name__ == "__main__":  # the platform's start check (platform/install-path.ts): its private paths as arguments
    try:
        check(private=sys.argv[1:])
    except InstallPathCollision as err:
        print(json.dumps({"collision": str(err), "paths": list(python_paths())}))
        sys.exit(3)
    print(json.dumps({"paths": list(python_paths())}))
