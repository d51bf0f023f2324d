"""What a zygote's preset imported from installed packages, and the distribution each came from.

The host keeps a function whose own dependency site ships one of these modules off the preset
(its pinned version must win: a module the zygote imported is in every fork's sys.modules), unless
the site ships the same distribution at the same version, which is what a requirements.txt naming
`fastapi` resolves to (poolmgr/host/site-packages.ts; docs/adr/0019-zygotes.md, decision 5).
Distributions are named as their `.dist-info` directory, normalized: `typing_extensions-4.16.0`.
"""
import os
import re
import sys
import sysconfig


def snapshot() -> set:
    """The top-level names of the modules imported so far."""
    return {name.partition(".")[0] for name in list(sys.modules)}


def imported_since(before: set) -> dict:
    """Top-level modules imported since `before` that live in a site-packages directory, each with
    its distribution (`name-version`, normalized), or None when no installed RECORD names it."""
    sites = {os.path.realpath(p) for p in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"])}
    found = {}
    for name in sorted(snapshot() - before):
        where = _location(sys.modules.get(name))
        if where is not None and os.path.dirname(where) in sites:
            found[name] = os.path.dirname(where)
    owners = {}
    for site in set(found.values()):
        owners.update(_owners(site))
    return {name: owners.get(name) for name in found}


def normalized(dist_info: str) -> str:
    """`Typing.Extensions-4.16.0` → `typing_extensions-4.16.0` (the host normalizes the same way)."""
    name, _, version = dist_info.partition("-")
    return f"{re.sub(r'[-_.]+', '_', name).lower()}-{version.lower()}"


def _location(module):
    """The path of a top-level module or package (a namespace package's first portion), real."""
    if module is None:
        return None
    file = getattr(module, "__file__", None)
    if file:
        path = os.path.dirname(file) if os.path.basename(file).startswith("__init__.") else file
        return os.path.realpath(path)
    portions = list(getattr(module, "__path__", None) or ())
    return os.path.realpath(portions[0]) if portions else None


def _owners(site: str) -> dict:
    """Top-level name → the distribution whose RECORD lists it, for the distributions in `site`."""
    owners = {}
    for entry in os.scandir(site):
        if not entry.name.endswith(".dist-info"):
            continue
        try:
            with open(os.path.join(entry.path, "RECORD"), encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        dist = normalized(entry.name[: -len(".dist-info")])
        for line in lines:
            # `anyio/__init__.py,…`, `typing_extensions.py,…`, `_cffi_backend.cpython-311-x86_64-linux-gnu.so,…`
            # (`../../bin/…` scripts give "" and are skipped)
            top = line.partition(",")[0].partition("/")[0].partition(".")[0]
            if top:
                owners.setdefault(top, dist)
    return owners
