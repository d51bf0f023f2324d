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
"""
import sys

# The prefix Django's values were made with: before any request Django's script prefix is "/",
# which a call at the root of the function's host (`root_path` "") keeps. The caller compares a
# call's `root_path` with it before calling `follow` (no call per call: invoke.py).
last = ""

_PREFIXED = ("STATIC_URL", "MEDIA_URL")


def follow(root_path: str) -> None:
    """Called at a call's start when its scope's `root_path` is not `last`."""
    global last
    if root_path == last:
        return
    last = root_path
    conf = sys.modules.get("django.conf")
    if conf is not None:
        _forget(conf.settings)


def _forget(settings) -> None:
    try:
        if not settings.configured:
            return
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
