"""matplotlib's font list, made once per dependency site (docs/dependencies.md, "Caches made at
build"; ADR 0108). Run by runtime/deps_build.py --fonts in a box of its own, after the build's box
is gone: the site read-only at /deps, an empty folder at /run/fp-build its only writable place besides
its /tmp, no network. It imports `matplotlib.font_manager` with MPLCONFIGDIR=/run/fp-build/mpl, which
makes matplotlib scan its fonts and write `fontlist-v<version>.json` there; the platform then
reads that file (a regular file, size-bounded, valid JSON of the expected shape) and puts it
into the site before publishing it. A runtime copies it into the function's own cache folder at
start (fp_runtime/specialize.py, `seed_caches`), so the import finds the list instead of building
it: 0.3-1 s of every cold start.

Package code runs here, which a build with wheels only never does otherwise: that is why this is
a box of its own where the site cannot be written, rather than a step of the build's box, whose
site and work folder are writable (what is shared between functions resolving the same way stays
what the lock says; docs/security.md, "The dependency builder")."""
import os
import sys


def main(site: str, out: str) -> int:
    os.makedirs(os.path.join(out, "mpl"), exist_ok=True)
    os.environ.update({"MPLCONFIGDIR": os.path.join(out, "mpl"), "HOME": out, "MPLBACKEND": "Agg"})
    # The function's order (docs/dependencies.md, "Path order"): the site after the standard
    # library, before the runtime's own site-packages.
    at = next((i for i, p in enumerate(sys.path) if p.endswith("site-packages")), len(sys.path))
    sys.path[at:at] = [site]
    os.chdir(out)
    try:
        import matplotlib.font_manager  # noqa: F401  # writes the list into MPLCONFIGDIR
    except BaseException as err:  # any failure only means no cache: the build stands
        print(f"matplotlib's font list was not made: {type(err).__name__}: {err}"[:500])
        return 0
    return 0
