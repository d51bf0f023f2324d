"""Failure classes (a closed list, the same as ErrorClass in protocol/messages.ts) and reports."""
import os
import traceback

USER_ERROR = "user_error"
INIT_ERROR = "init_error"
TIMEOUT = "timeout"
OUT_OF_MEMORY = "out_of_memory"
CRASH = "crash"
BAD_RETURN = "bad_return"
PROTOCOL_ERROR = "protocol_error"

_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))


class BadReturn(Exception):
    """The handler returned a value that cannot become an HTTP response."""


def report(err: BaseException, klass: str, user_dir: str | None) -> dict:
    """The wire form of an error: class, type, message, stack and the innermost user frame."""
    out = {"class": klass, "type": type(err).__name__, "message": str(err)}
    frames = traceback.extract_tb(err.__traceback__)
    user = None
    if user_dir:
        prefix = os.path.join(os.path.realpath(user_dir), "")
        for frame in frames:
            if os.path.realpath(frame.filename).startswith(prefix):
                user = frame
        if isinstance(err, SyntaxError) and err.filename and \
                os.path.realpath(err.filename).startswith(prefix):
            out["file"] = os.path.relpath(os.path.realpath(err.filename), prefix)
            out["line"] = err.lineno or 0
    if user is not None:
        out["file"] = os.path.relpath(os.path.realpath(user.filename), prefix)
        out["line"] = user.lineno or 0
    # The runtime's own frames say nothing to the user: leave them out of the stack.
    shown = [f for f in frames
             if not f.filename.startswith(_RUNTIME_DIR) and not f.filename.startswith("<frozen")]
    stack = "Traceback (most recent call last):\n" + "".join(traceback.format_list(shown)) if shown else ""
    out["stack"] = stack + "".join(traceback.format_exception_only(type(err), err))
    return out


def plain(klass: str, type_name: str, message: str) -> dict:
    return {"class": klass, "type": type_name, "message": message}
