"""Django's values that keep the script prefix of the request that first read them, made again
for a call at the other mount point (docs/api-invoke.md, "One instance serves both mount points";
docs/adr/0192-django-urls-at-both-mount-points.md).

Django prefixes a relative `STATIC_URL`/`MEDIA_URL` (`startproject`'s `"static/"`) with the
current request's script prefix and caches the result in its settings; the staticfiles storage
takes that value as its `base_url` when it is made, and the default storage caches its own. Under
uvicorn an app has one `--root-path` for its life; here one instance takes calls at `/fn/<name>/`
(prefix `/fn/<name>`) and at `<name>.<base domain>` (none): `{% static %}` named the first call's
address on every call after it. When a call's `root_path` is not the previous call's, those
cached values are dropped, to be made again in the call with its own prefix. Nothing happens for
a call at the same mount point as the one before (one string comparison), for an app that has not
imported Django, or for absolute URLs (`/static/`, `https://cdn…`), which Django does not prefix.

Above `limits.concurrency` 1 two calls at the two mount points can be in flight at once, and a
value dropped and made again by one was the other's (loose4: a page under `/fn/<name>/` linked
`/static/site.css` when a call at the host came while it rendered). There, at the first switch, the
two settings are made per read with the reading call's script prefix (Django's own, per thread or
task), and the storages per script prefix (docs/adr/0212-django-mount-point-per-call.md), the
MAX_PREFIXES most recently used ones kept (a trusted proxy that passes a client's
`X-Forwarded-Prefix` through gave every new prefix a storage of its own, kept for the instance's
life: red team round 41; one that goes is made again at its prefix's next use).
"""
import sys
from collections.abc import MutableMapping

# The prefix Django's values were made with: before any request Django's script prefix is "/",
# which a call at the root of the function's host (`root_path` "") keeps. The caller compares a
# call's `root_path` with it before calling `follow` (no call per call: invoke.py).
last = ""

_PREFIXED = ("STATIC_URL", "MEDIA_URL")


# Script prefixes whose storages are kept at once in per-call mode (two mount points in use, plus
# what a trusted proxy's X-Forwarded-Prefix adds); past it the least recently used prefix's go.
MAX_PREFIXES = 16


def _of_prefix(made: dict, make):
    """`made[prefix]` for the current script prefix, made by `make()` when absent; the least
    recently used prefix's entry goes past MAX_PREFIXES (an LRU of insertion order)."""
    prefix = _prefix()
    value = made.pop(prefix, _MISSING)
    if value is _MISSING:
        value = make()
        while len(made) >= MAX_PREFIXES:
            del made[next(iter(made))]
    made[prefix] = value
    return value


_MISSING = object()


# Whether the settings and storages are per call already (`_per_call`): nothing to drop any more.
per_call = False


def follow(root_path: str, concurrency: int = 1) -> None:
    """Called at a call's start when its scope's `root_path` is not `last`; `concurrency`, the
    instance's `limits.concurrency`: above 1, calls at both mount points may be in flight at once."""
    global last
    if root_path == last or per_call:
        return
    last = root_path
    conf = sys.modules.get("django.conf")
    if conf is not None:
        _forget(conf.settings, concurrency > 1)


def _forget(settings, concurrent: bool = False) -> None:
    try:
        if not settings.configured:
            return
        if concurrent:
            _per_call(settings)
        made = settings.__dict__
        raw = settings._wrapped
        stale = set()
        for name in _PREFIXED:
            value = made.get(name)
            if value is None or _absolute(getattr(raw, name, None)):
                continue
            del made[name]
            stale.add(value)
        if stale:
            _drop_storages(stale)
    except Exception:  # an app's own settings object, a Django this does not know: left as it was
        return


def _absolute(value) -> bool:
    return not isinstance(value, str) or value.startswith(("http://", "https://", "/"))


def _drop_storages(stale: set) -> None:
    """The storages made with a prefixed value go: Django makes them again at their next use."""
    storage = sys.modules.get("django.core.files.storage")
    if storage is None:
        return
    from django.utils.functional import empty
    dropped = set()
    handler = getattr(storage, "storages", None)  # Django 4.2+: one instance per STORAGES alias
    instances = getattr(handler, "_storages", None)
    if isinstance(instances, dict):
        for alias, instance in list(instances.items()):
            if _made_with(instance, stale):
                del instances[alias]
                dropped.add(id(instance))
    statics = sys.modules.get("django.contrib.staticfiles.storage")
    for lazy in (getattr(storage, "default_storage", None), getattr(statics, "staticfiles_storage", None)):
        wrapped = getattr(lazy, "_wrapped", empty)
        if wrapped is not empty and (id(wrapped) in dropped or _made_with(wrapped, stale)):
            lazy._wrapped = empty


def _made_with(instance, stale: set) -> bool:
    own = getattr(instance, "__dict__", None) or {}
    return own.get("_base_url") in stale or own.get("base_url") in stale


def _prefix() -> str:
    from django.urls import get_script_prefix
    return get_script_prefix()


def _set_class(obj, cls) -> None:
    # A LazyObject's `__class__` is a property naming its wrapped object's class: object's own slot.
    object.__dict__["__class__"].__set__(obj, cls)


def _prefixed(name: str) -> property:
    """`settings.<name>` made at each read, with the reading call's script prefix (as Django's
    `__getattr__` makes it once), never kept: a data descriptor, so the instance's cache is not read."""
    def read(self):
        from django.utils.functional import empty
        if self._wrapped is empty:
            self._setup(name)
        value = getattr(self._wrapped, name)
        return value if value is None else self._add_script_prefix(value)
    return property(read)


class _ByPrefix(MutableMapping):
    """Django 4.2+'s `storages._storages`: the storages made in calls at each script prefix."""
    __slots__ = ("_maps",)

    def __init__(self):
        self._maps = {}

    def _own(self) -> dict:
        return _of_prefix(self._maps, dict)

    def __getitem__(self, alias):
        return self._own()[alias]

    def __setitem__(self, alias, value):
        self._own()[alias] = value

    def __delitem__(self, alias):
        del self._own()[alias]

    def __iter__(self):
        return iter(self._own())

    def __len__(self):
        return len(self._own())


def _lazy_by_prefix(lazy) -> None:
    """`default_storage`/`staticfiles_storage`: the object each script prefix's calls made."""
    base = type(lazy)

    def wrapped(self):
        from django.utils.functional import empty
        return self.__dict__["_fp_made"].get(_prefix(), empty)

    def set_attr(self, name, value):
        if name == "_wrapped":
            made = self.__dict__["_fp_made"]
            made.pop(_prefix(), None)
            _of_prefix(made, lambda: value)
        else:
            base.__setattr__(self, name, value)

    lazy.__dict__["_fp_made"] = {}
    _set_class(lazy, type(base.__name__, (base,), {"_wrapped": property(wrapped), "__setattr__": set_attr,
                                                   "__module__": base.__module__}))


def _per_call(settings) -> None:
    """Once, at the first switch of an instance that takes calls concurrently: the relative settings
    made per read and the storages per script prefix (what was made before is dropped by `_forget`)."""
    global per_call
    per_call = True
    base = type(settings)
    _set_class(settings, type(base.__name__, (base,), {name: _prefixed(name) for name in _PREFIXED}
                              | {"__module__": base.__module__}))
    storage = sys.modules.get("django.core.files.storage")
    if storage is None:
        import django.core.files.storage as storage
    handler = getattr(storage, "storages", None)
    if isinstance(getattr(handler, "_storages", None), dict):
        handler._storages = _ByPrefix()
    statics = sys.modules.get("django.contrib.staticfiles.storage")
    if statics is None and "django.contrib.staticfiles" in sys.modules:  # `{% static %}` imports it at first use
        import django.contrib.staticfiles.storage as statics
    for lazy in (getattr(storage, "default_storage", None), getattr(statics, "staticfiles_storage", None)):
        if lazy is not None:
            _lazy_by_prefix(lazy)
