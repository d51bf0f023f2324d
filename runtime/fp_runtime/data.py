"""`context.db`: the function's bound Mongo database (docs/data-binding.md).

The platform puts the binding's URI in FP_MONGO_URI at specialize (PLAIN credentials over the
Unix socket of the function's data proxy, bound into its box). One MongoClient per runtime,
created on first use and kept across warm calls. pymongo is imported by the zygote bound functions
are forked from (`preload`, before it forks: ~60-80 ms a bound function's first call paid in every
fresh box; docs/adr/0163-pymongo-in-the-fastapi-zygote.md); elsewhere only then, so a function
without a binding pays nothing. Each call gets a view of the database that tags every write it
makes with the run id (`comment: "fp:run=<runId>"`), which is how the platform ties runs to
their writes; a write that already has a comment keeps it (and is not counted for the run).
"""
import os
import threading

ENV_URI = "FP_MONGO_URI"
# Set instead of FP_MONGO_URI when platform.yaml binds a database the platform has no server for.
ENV_UNCONFIGURED = "FP_MONGO_UNCONFIGURED"
ENV_DATABASE = "FP_MONGO_DATABASE"
RUN_TAG_PREFIX = "fp:run="

_WRITE_METHODS = ("insert_one", "insert_many", "replace_one", "update_one", "update_many", "delete_one",
                  "delete_many", "find_one_and_delete", "find_one_and_replace", "find_one_and_update", "bulk_write")

_lock = threading.Lock()
_client = None
_classes = None


class NoBinding(RuntimeError):
    """context.db without `data.mongo` in platform.yaml."""


def _make_classes():
    from pymongo.collection import Collection
    from pymongo.database import Database

    class RunCollection(Collection):
        """A pymongo Collection whose writes carry the run's tag."""

    def _tagged(name):
        method = getattr(Collection, name)

        def write(self, *args, **kwargs):
            if kwargs.get("comment") is None:
                kwargs["comment"] = self.database._fp_tag
            return method(self, *args, **kwargs)

        write.__name__ = name
        write.__doc__ = method.__doc__
        return write

    for name in _WRITE_METHODS:
        setattr(RunCollection, name, _tagged(name))

    # What pymongo makes from a collection (a sub-collection, `coll.files`, `with_options`) is a plain
    # Collection of the same database: made a RunCollection, it tags its writes too. GridFS writes
    # through such ones (`database.with_options(...)[name].chunks`); before, its runs listed no writes.
    def _derived(name):
        method = getattr(Collection, name)

        def derive(self, *args, **kwargs):
            made = method(self, *args, **kwargs)
            if type(made) is Collection and isinstance(made.database, RunDatabase):
                made.__class__ = RunCollection
            return made

        derive.__name__ = name
        derive.__doc__ = method.__doc__
        return derive

    for name in ("__getitem__", "with_options"):
        setattr(RunCollection, name, _derived(name))

    class RunDatabase(Database):
        """A pymongo Database for one run: its collections tag their writes."""

        def __init__(self, client, name, tag, *args, **kwargs):
            super().__init__(client, name, *args, **kwargs)
            self._fp_tag = tag

        def with_options(self, codec_options=None, read_preference=None, write_concern=None, read_concern=None):
            return RunDatabase(self.client, self.name, self._fp_tag, codec_options or self.codec_options,
                               read_preference or self.read_preference, write_concern or self.write_concern,
                               read_concern or self.read_concern)

        def create_collection(self, name, *args, **kwargs):
            made = super().create_collection(name, *args, **kwargs)
            made.__class__ = RunCollection
            return made

        def get_collection(self, name, *args, **kwargs):
            return RunCollection(self, name, *args, **kwargs)

        def __getitem__(self, name):
            return RunCollection(self, name)

        def __getattr__(self, name):
            if name.startswith("_"):
                raise AttributeError(name)
            return RunCollection(self, name)

    return RunDatabase


def preload() -> None:
    """pymongo and the run-tagging classes, imported and made ahead (a zygote, before it forks). The
    runtime's own pin (runtime/requirements.txt), never in a function's site, so no version of a
    function's can be hidden by it; what its import seeds per process (bson's ObjectId bytes) is
    made again in a process of another pid, and its at-fork hooks are recorded (fp_sandbox/atfork.py)."""
    global _classes
    with _lock:
        if _classes is None:
            from pymongo import MongoClient
            _classes = _make_classes()
            # The client's construction run once, as `client()` makes it (its code's first run costs
            # several times a later one, and a box would pay it in copied pages): connect=False opens
            # no connection and starts no thread (a zygote forks with one thread), and it is closed.
            MongoClient("mongodb://u:p@%2Frun%2Ffp-data%2Fnone.sock/db?authMechanism=PLAIN&authSource=%24external"
                        "&directConnection=true", connect=False, appname="fastapi-platform").close()
            # bson seeds ObjectId's counter once, at its import (here: the zygote): every box forked
            # from it started the counter at the same value, whoever's function it runs (red team
            # round 28: two workspaces' first ObjectIds ended in the same 3 bytes; the ObjectId spec
            # wants a random start per process). Its random bytes are made again only in a process
            # of another pid than the zygote's. Each fork seeds both (recorded: fp_sandbox/atfork.py).
            os.register_at_fork(after_in_child=_object_ids_of_this_process)


def _object_ids_of_this_process() -> None:
    """bson's per-process ObjectId state made again: the counter from a random start, the 5 random
    bytes at the next ObjectId (whatever this process's pid)."""
    import random
    from bson.objectid import _MAX_COUNTER_VALUE, ObjectId
    with ObjectId._inc_lock:
        ObjectId._inc = random.SystemRandom().randint(0, _MAX_COUNTER_VALUE)
    ObjectId._pid = -1


def client():
    """The runtime's MongoClient for the binding (created on first use)."""
    global _client, _classes
    uri = os.environ.get(ENV_URI)
    if not uri:
        declared = os.environ.get(ENV_UNCONFIGURED)
        if declared:
            raise NoBinding(
                f"platform.yaml binds database {declared!r}, but this platform has no database server for data"
                " bindings (DATA_BACKEND_NOT_CONFIGURED): its operator installs FerretDB (scripts/services.sh),"
                " or sets FP_DATA_MONGO_URL (production mode needs it; docs/data-binding.md)")
        raise NoBinding("this function has no database binding: add data: {mongo: {database: NAME}} to platform.yaml")
    with _lock:
        if _client is None:
            from pymongo import MongoClient
            if _classes is None:
                _classes = _make_classes()
            _client = MongoClient(uri, connect=False, appname="fastapi-platform")
    return _client


def database_for(run_id: str):
    """The bound database as seen by the run `run_id` (its writes tagged with it)."""
    c = client()
    return _classes(c, os.environ.get(ENV_DATABASE) or c.get_default_database().name, RUN_TAG_PREFIX + run_id)
