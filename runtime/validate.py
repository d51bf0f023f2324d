"""Preflight of a function folder, used by `fastapi-platform validate` before any upload.

    python -I runtime/validate.py <dir> <entrypoint> [--files-from -] [--max-cpu-seconds N] [--max-memory-mb N] [--box JSON]
    (entrypoint "" skips its check)
    python -I runtime/validate.py --serve     (one JSON request per line, one report per line: `dev`)
    python -I runtime/validate.py --zygote --box JSON   (the platform's warmed check: `zygote`)

Compiles every .py file with this interpreter's own compiler (so the verdict is the runtime's),
and finds the entrypoint `module:attr` statically: the module file exists and defines `attr` at
module level as handler(event, context) (sync or async), an ASGI function app(scope, receive,
send), or an assignment (likely an app object such as `app = FastAPI()`). It reads the declared
dependencies (requirements.txt, pyproject.toml: fp_deps/requirements.py) and warns about
third-party imports of the entrypoint's module, and of the modules of the folder it imports,
that neither they nor the runtime's packages provide (fp_deps/imports.py). It never imports or
runs user code. Prints one JSON document; exit 0 when it ran (findings are in the JSON), 2 for a
usage error. `--files-from -` reads the relative paths to check from stdin, one per line (the CLI
passes the files it would upload); otherwise the folder is walked with the same default skips.
`--max-cpu-seconds` and `--max-memory-mb` set hard limits on this process before anything is read:
the platform's API runs the check on code anyone with a token sends, and compiling hostile source
must not take the host's CPU or memory with it. `--box` (the platform's check) runs it in a box
like a runtime's first (`boxed`).
"""
import ast
import difflib
import importlib
import json
import os
import re
import sys
from stat import S_ISREG
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder out
from fp_deps import imports as deps_imports  # noqa: E402
from fp_deps import requirements as deps_requirements  # noqa: E402
from fp_runtime import migration  # noqa: E402
from fp_runtime.wsgi_names import wsgi_names  # noqa: E402

SKIP_DIRS = {"__pycache__", "node_modules"}


def walk(root):
    out = []
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
        for name in sorted(files):
            if not name.startswith("."):
                out.append(os.path.relpath(os.path.join(current, name), root).replace(os.sep, "/"))
    return out


def compile_file(root, rel):
    """Returns (tree or None, syntax error dict or None, warning dicts)."""
    with open(os.path.join(root, rel), "rb") as handle:
        source = handle.read()
    found = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # Bytes, so a PEP 263 coding line is honoured; the full compile also catches what the
            # parser alone lets through (`return` outside a function, misplaced `nonlocal`, ...).
            compile(source, rel, "exec", dont_inherit=True)
            tree = ast.parse(source, rel)
        except SyntaxError as err:
            error = {"file": rel, "line": err.lineno, "column": err.offset, "type": type(err).__name__, "message": err.msg}
            return None, error, []
        except ValueError as err:  # e.g. NUL bytes in the source (a SyntaxError from 3.12 on)
            return None, {"file": rel, "line": None, "column": None, "type": "SyntaxError", "message": str(err)}, []
        except (RecursionError, MemoryError) as err:
            # The runtime's import fails the same way: the file's problem, not the check's (it
            # crashed validate.py, so the API answered "try again" and the CLI refused to deploy).
            what = "nested too deeply" if isinstance(err, RecursionError) else "too large"
            return None, {"file": rel, "line": None, "column": None, "type": type(err).__name__,
                          "message": f"{what} for Python's compiler: the runtime cannot import it either"}, []
    for w in caught:
        item = {"file": rel, "line": getattr(w, "lineno", None), "message": f"{w.category.__name__}: {w.message}"}
        if item not in found:  # compile and parse both warn about the same thing
            found.append(item)
    return tree, None, found


def module_level(body):
    """Statements that run at module level, including inside if/try/with/for/while/match."""
    for node in body:
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            yield from module_level(getattr(node, field, None) or [])
        for handler in getattr(node, "handlers", None) or []:
            yield from module_level(handler.body)
        for case in getattr(node, "cases", None) or []:
            yield from module_level(case.body)


def bound_names(target):
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for item in target.elts:
            yield from bound_names(item)
    elif isinstance(target, ast.Starred):
        yield from bound_names(target.value)


def yields(function):
    """The line of a `yield` in the function's own body (not in a function or class inside it), or None."""
    todo = list(function.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return node.lineno
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return None


def tuple_return(function):
    """The line of a `return a, b` (a tuple of 2 or 3: Flask's `return body, status[, headers]`) in the
    function's own body, or None."""
    todo = list(function.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) in (2, 3):
            return node.lineno
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return None


_RESPONSE_KEYS = {"body", "headers", "isBase64Encoded", "multiValueHeaders", "cookies"}


def statusless_return(function):
    """The line of a `return {"body": ..., "headers": ...}` with only a response's keys but no "statusCode"
    in the function's own body, or None: such a dict is data, sent whole as JSON (new-user round 12)."""
    todo = list(function.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict) and node.value.keys:
            keys = node.value.keys
            if all(isinstance(k, ast.Constant) and k.value in _RESPONSE_KEYS for k in keys) and any(k.value == "body" for k in keys):
                return node.lineno
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return None


def _function(args, node, is_async, decorated, yield_line, tuple_line, statusless_line=None):
    """describe()'s record of a function (a def or a lambda) from its parameters."""
    params = args.posonlyargs + args.args
    required = len(params) - len(args.defaults) + sum(1 for d in args.kw_defaults if d is None)
    # handler(event, context, client=None): two required, the rest with defaults (Lambda calls it with two)
    # ... or one: handler(event, context=None, debug=False) (the runtime's rule, specialize._contract)
    optional = len(params) > 2 and len(params) - len(args.defaults) in (1, 2) and None not in args.kw_defaults
    return {"kind": "function", "async": is_async, "arity": len(params), "required": required, "optional": optional,
            "decorated": decorated, "line": node.lineno, "yields": yield_line, "tuple": tuple_line, "statusless": statusless_line,
            "wsgi": len(params) == 2 and wsgi_names(params[0].arg, params[1].arg)}


def fastapi_docs(value):
    """{"docs": path} when `value` is `FastAPI(...)` serving its interactive docs (`/docs`, or its
    `docs_url`), for the deploy banner's Docs line (new-user round 11: the banner's curl of `/` answered
    the app's 404, and nothing said where its routes are listed); {} otherwise (docs off, or a path
    not written as text)."""
    if not (isinstance(value, ast.Call) and _last_name(value.func) == "FastAPI"):
        return {}
    options = {k.arg: k.value for k in value.keywords if k.arg}
    docs, spec = options.get("docs_url"), options.get("openapi_url")
    if isinstance(spec, ast.Constant) and spec.value is None:
        return {}  # no OpenAPI document, no docs page
    if docs is None:
        return {"docs": "/docs"}
    return {"docs": docs.value} if isinstance(docs, ast.Constant) and isinstance(docs.value, str) and docs.value.startswith("/") else {}


def describe(node, name):
    """What binds `name` in this statement, or None."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
        return _function(node.args, node, isinstance(node, ast.AsyncFunctionDef), bool(node.decorator_list), yields(node),
                         tuple_return(node), statusless_return(node))
    if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name
            and len(node.value.args.posonlyargs + node.value.args.args) != 3):
        # `handler = lambda event, context: ...`: a function, its parameters checked as a def's (it was
        # "an object (an ASGI app such as FastAPI()...)", and a lambda of one parameter failed at deploy).
        # One of three may return an ASGI app's coroutine (`lambda scope, receive, send: app(...)`),
        # which the runtime serves: left to it, as an assignment.
        body = node.value.body
        pair = body.lineno if isinstance(body, ast.Tuple) and len(body.elts) in (2, 3) else None
        return _function(node.value.args, node, False, False, None, pair)
    if isinstance(node, ast.ClassDef) and node.name == name:
        return {"kind": "class", "line": node.lineno}
    if isinstance(node, ast.Assign) and any(name in bound_names(t) for t in node.targets):
        return {"kind": "assignment", "line": node.lineno, **fastapi_docs(node.value)}
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and name in bound_names(node.target):
        if isinstance(node, ast.AnnAssign) and node.value is None:
            return None  # a bare annotation binds nothing
        return {"kind": "assignment", "line": node.lineno, **(fastapi_docs(node.value) if isinstance(node, ast.AnnAssign) else {})}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            if (alias.asname or alias.name.split(".")[0]) == name:
                return {"kind": "import", "line": node.lineno}
    return None


def nearest(body, name, module, rel, suffix=""):
    """What the module defines instead of `name`: the near miss meant (`handle` for `handler`), else
    its functions; "" when it defines none (a newcomer's typo named only what was missing)."""
    functions = {}
    for node in module_level(body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            functions.setdefault(node.name, node.lineno)
    close = difflib.get_close_matches(name, list(functions), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r} ({rel}:{functions[close[0]]})? entrypoint: {module}:{close[0]}{suffix}"
    public = [n for n in functions if not n.startswith("_")]
    return f" (its functions: {', '.join(public[:10])})" if public else ""


def nearest_module(files, module, attr):
    """The folder's module meant by a mistyped one (`mian` for main.py), as `nearest` names a function:
    "; did you mean 'main' (main.py)? entrypoint: main:handler", else "" (journey round 11)."""
    modules = {}
    for name in files:
        if name.endswith(".py"):
            dotted = name[:-3].replace("/", ".")
            dotted = dotted[:-len(".__init__")] if dotted.endswith(".__init__") else dotted
            modules.setdefault(dotted, name)
    close = difflib.get_close_matches(module, list(modules), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r} ({modules[close[0]]})? entrypoint: {close[0]}:{attr}" if close else ""


_HANDLER_NAMES = ("lambda_handler", "handler", "handle")


def handler_elsewhere(trees):
    """A `handler(event, context)` (Lambda's `lambda_handler` first) in a module at the folder's top, as
    "; the folder's handler is ... entrypoint: ...", else "" (new-user round 12: Lambda code without an
    entrypoint in platform.yaml was told only that main.py was missing)."""
    found = []
    for rel in sorted(trees):
        if "/" in rel or not rel.endswith(".py") or not rel[:-3].isidentifier():
            continue
        for node in module_level(trees[rel].body):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in _HANDLER_NAMES and len(node.args.args) >= 2:
                found.append((_HANDLER_NAMES.index(node.name), rel, node.name, node.lineno))
    if not found:
        return ""
    _, rel, name, line = min(found)
    lam = ", with event: lambda for Lambda's event (body a str)" if name == "lambda_handler" else ""
    return f"; the folder's handler is {name!r} ({rel}:{line}): entrypoint: {rel[:-3]}:{name}{lam}"


def relative_imports(entrypoint, rel, tree, package):
    """Problems for the entry module's relative imports that reach above its package: `from .routers
    import items` in a main.py at the folder's top, which the entrypoint imports as the top-level
    module `main` (as `uvicorn main:app` does), in no package. The load fails with "attempted relative
    import with no known parent package" (new-user round 11: validate said "valid", deploy's start
    check failed). Only the module's own statements (not under `try:`, where a fallback to the
    absolute import is a known idiom, nor in functions). `package`: the folder's name when the folder
    itself has an `__init__.py` (`cd app && init .`: its parent is the folder to deploy), else None."""
    module, _, attr = entrypoint.partition(":")
    depth = module.count(".") + (1 if rel.endswith("__init__.py") else 0)  # the package levels it is in
    found = []
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom) or node.level <= depth:
            continue
        written = f"from {'.' * node.level}{node.module or ''} import {', '.join(a.name for a in node.names[:3])}"
        if depth > 0:
            found.append({"file": rel, "line": node.lineno,
                          "message": f"entrypoint {entrypoint}: `{written}` reaches {node.level} levels up from {module!r}, "
                                     "above its top-level package, so it fails (attempted relative import beyond top-level "
                                     "package): import it by its full name"})
            continue
        fix = f"import it by its name (`from {node.module} import ...`: the function's folder is on the import path)" if node.module else "import it by its name"
        if package is not None:
            fix += (f", or deploy the folder above: this folder has __init__.py, so it is the package {package!r}; "
                    f"platform.yaml goes in its parent folder with entrypoint: {package}.{module}:{attr}")
        else:
            fix += (f", or keep the code in a package folder (app/__init__.py, app/{module}.py) with entrypoint: "
                    f"app.{module}:{attr}, as `uvicorn app.{module}:...` runs it")
        found.append({"file": rel, "line": node.lineno,
                      "message": f"entrypoint {entrypoint}: `{written}` is a relative import, but {rel} is imported as the "
                                 f"top-level module {module!r} (as `uvicorn {module}:...` imports it), in no package, so it "
                                 f"fails (attempted relative import with no known parent package): {fix}"})
    return found


def check_entrypoint(entrypoint, files, trees, syntax_files, root=""):
    module, _, attr = entrypoint.partition(":")
    factory = attr.endswith("()")  # module:create_app(): an app factory, called once at the instance's start
    attr = attr[:-2] if factory else attr
    result = {"module": module, "attr": attr, "file": None, "line": None, "kind": None, "async": None, "arity": None}
    problems = []
    if entrypoint == "":  # the caller already reported a malformed entrypoint
        return result, problems
    if not module or not attr:
        problems.append({"file": None, "line": None, "message": f"entrypoint {entrypoint!r} must look like module:attr"})
        return result, problems
    base = module.replace(".", "/")
    candidates = [f"{base}.py", f"{base}/__init__.py"]
    rel = next((c for c in candidates if c in files), None)
    if rel is None and "src/__init__.py" not in files:
        # A src layout's own name for it (`shop.api:app` for src/shop/api.py), as uvicorn --app-dir src
        # and an installed package import it: the runtime imports it from src (specialize.src_layout).
        rel = next((f"src/{c}" for c in candidates if f"src/{c}" in files), None)
    if rel is None:
        default = " (the default when platform.yaml names no entrypoint)" if entrypoint == "main:handler" else ""
        hint = nearest_module(files, module, attr + ('()' if factory else '')) or handler_elsewhere(trees)
        problems.append({"file": None, "line": None,
                         "message": f"entrypoint {entrypoint}{default}: module {module!r} not found; expected {' or '.join(candidates)}"
                         f"{hint}"})
        return result, problems
    result["file"] = rel
    if rel in syntax_files:
        # The syntax error is reported at its line already; a second problem ("cannot check
        # 'handler'") made one missing colon read "2 problems found" (newcomer round 5).
        return result, problems
    name = os.path.basename(os.path.normpath(root)) if root else ""
    problems.extend(relative_imports(entrypoint, rel, trees[rel], name if "__init__.py" in files and name.isidentifier() else None))
    first = attr.split(".")[0]
    found = None
    for node in module_level(trees[rel].body):
        found = describe(node, first) or found  # the last binding wins, as when the module runs
    if found is None:
        problems.append({"file": rel, "line": None,
                         "message": f"entrypoint {entrypoint}: {rel} defines no {first!r} at module level{nearest(trees[rel].body, first, module, rel, '()' if factory else '')}"})
        return result, problems
    required = found.pop("required", 0)
    optional = found.pop("optional", False)
    returns_tuple = found.pop("tuple", None)
    statusless = found.pop("statusless", None)
    result.update(found)
    if factory:
        # What it returns is known once it ran: the runtime checks that at the instance's start.
        result["kind"] = "factory"
        if found["kind"] == "function" and found["async"]:
            problem = "an async def returns a coroutine, not an app: make it a plain def"
        elif found["kind"] == "function" and required:
            problem = f"it takes {required} required parameter{'' if required == 1 else 's'}"
        else:
            return result, problems
        problems.append({"file": rel, "line": found["line"],
                         "message": f"entrypoint {entrypoint}: {first}() is called with no arguments to build the app; {problem}"})
        return result, problems
    if found["kind"] == "function" and "." not in attr:
        arity = found["arity"]
        where = {"file": rel, "line": found["line"]}
        if arity == 2 and found.get("wsgi"):
            result["kind"] = "wsgi"  # app(environ, start_response): served as a WSGI app (its body may be a generator)
        elif arity == 2 or optional:
            result["kind"] = "handler"
            if found["yields"] and not found["decorated"]:
                # Every call would answer 502 FUNCTION_BAD_RESPONSE: a generator is no response.
                problems.append({"file": rel, "line": found["yields"],
                                 "message": f"entrypoint {entrypoint}: {first}() yields, so each call returns a generator, "
                                 "which is no response: a handler returns the whole response (handlers are not streamed); "
                                 "return the body at once, or serve an ASGI app with a StreamingResponse to stream"})
            if returns_tuple and not found["decorated"]:
                # A warning, not a problem: only the calls that take that path fail (oddfn round).
                result["warnings"] = [{"file": rel, "line": returns_tuple,
                                       "message": f"entrypoint {entrypoint}: {first}() returns a tuple here, which is no response "
                                       "(a call that returns it answers 502 FUNCTION_BAD_RESPONSE): Flask's `return body, 201` "
                                       "is {\"statusCode\": 201, \"body\": body} (and \"headers\": {...}) in a handler"}]
            if statusless and not found["decorated"]:
                result.setdefault("warnings", []).append({
                    "file": rel, "line": statusless,
                    "message": f"entrypoint {entrypoint}: {first}() returns a dict with \"body\" and no \"statusCode\" here, which "
                    "is data, not a response: it is sent whole as JSON with 200, its \"body\" and \"headers\" keys included "
                    "(as an HTTP API does; a REST API answers 502); add \"statusCode\": 200 to send the body as the response"})
        elif arity == 3 and found["async"]:
            result["kind"] = "asgi"
        elif arity == 3:
            problems.append({**where, "message": f"entrypoint {entrypoint}: a function of 3 parameters is served as an ASGI app "
                             "(scope, receive, send) and must be `async def`; a handler takes 2 (event, context)"})
        else:
            hint = migration.hint(arity, entrypoint)
            problems.append({**where, "message": f"entrypoint {entrypoint}: {first}() takes {arity} positional parameter"
                             f"{'' if arity == 1 else 's'}; write handler(event, context) or an ASGI app(scope, receive, send){hint}"})
    return result, problems


def dependencies(root, files):
    """The declared requirements ({name, requirement, file, line}) and problems with them."""
    def read(name):
        path = os.path.join(root, name)
        if name not in files or not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    try:
        found = deps_requirements.declared(read)
    except deps_requirements.BadRequirement as err:
        return [], [{"file": err.file, "line": err.line, "message": err.reason}]
    return [{"name": n, "requirement": r, "file": f, "line": line} for n, r, f, line in found], []


def websocket_routes(trees):
    """Warnings for WebSocket endpoints (`@app.websocket(...)`, `add_websocket_route`, Starlette's
    `WebSocketRoute`): a connection is one call, which ends at limits.timeout (30 s by default:
    docs/adr/0126-websockets.md). `needs: long-timeout` lets the CLI drop it under a timeout of 5
    minutes or more (protocol/code-checks.ts)."""
    found = []
    for rel, node, name in _calls(trees):
        if name in _WS_ROUTES:
            found.append({"file": rel, "line": node.lineno, "needs": "long-timeout",
                          "message": f"{name}(...): {_WS_ONE_CALL}"})
    for rel, node, name in _channels_consumers(trees):
        found.append({"file": rel, "line": node.lineno, "needs": "long-timeout",
                      "message": f"class {node.name}({name}): a Channels consumer: {_WS_ONE_CALL}"})
    return found


_WS_ONE_CALL = ("a WebSocket connection is one call: it holds an instance's slot and is closed (1001) at "
                "limits.timeout, 30 s by default: set limits.timeout to the longest connection to keep "
                "(docs/api-invoke.md, \"WebSockets\")")
# Django Channels' WebSocket consumer classes (channels.generic.websocket), apps round 18.
_CHANNELS_CONSUMERS = ("WebsocketConsumer", "AsyncWebsocketConsumer", "JsonWebsocketConsumer", "AsyncJsonWebsocketConsumer")


def _channels_consumers(trees):
    """(file, class node, base name) for each class of a file importing `channels` that derives from
    one of Channels' WebSocket consumers."""
    for rel, tree in trees.items():
        if not _imports_any(tree, ("channels",)):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    name = base.attr if isinstance(base, ast.Attribute) else base.id if isinstance(base, ast.Name) else ""
                    if name in _CHANNELS_CONSUMERS:
                        yield rel, node, name
                        break


def _is_test_file(rel) -> bool:
    """Whether a path is a test's by its words (`tests/`, `test_x.py`, `x_test.py`, `conftest.py`, `testing.py`)."""
    words = re.split(r"[_./\\-]+", rel.lower())
    return any(w in ("test", "tests", "testing", "conftest") for w in words)


def channel_layers(trees):
    """Warnings for Django Channels' in-memory channel layer (`CHANNEL_LAYERS = {"default": {"BACKEND":
    "channels.layers.InMemoryChannelLayer"}}`): a `group_send` reaches the consumers of the
    instance that sent it, and at the default `concurrency: 1` each WebSocket holds an instance of
    its own, so in the Channels tutorial's chat each of 3 clients heard only itself and a message
    sent from a view reached none (apps round 18; uvicorn: 4 of 4 each; with one instance taking
    concurrent calls, 4 of 4). Found as that string anywhere (settings modules are plain data) but
    in test files (`tests/`, `test_settings.py`, `settings_test.py`, `conftest.py`): Channels' docs
    give the in-memory layer to tests. `needs: one-instance`."""
    found = []
    for rel, tree in trees.items():
        if _is_test_file(rel):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value == "channels.layers.InMemoryChannelLayer":
                found.append({"file": rel, "line": node.lineno, "needs": "one-instance",
                              "message": "channels.layers.InMemoryChannelLayer: Channels' in-memory layer delivers a "
                                         "group message to the consumers of the instance that sent it, and at "
                                         "limits.concurrency 1 each WebSocket holds an instance of its own, so each "
                                         "client hears only itself: set limits.concurrency above 1 and "
                                         "limits.maxInstances: 1, or use channels_redis' RedisChannelLayer "
                                         "(docs/api-invoke.md, \"WebSockets\")"})
    return found


_WS_ROUTES = ("websocket", "websocket_route", "add_websocket_route", "add_api_websocket_route", "WebSocketRoute")
# Starlette's, Litestar's `send_data`, and `send` of Quart's `websocket`, flask-sock's and `websockets`' sockets.
_WS_SENDS = ("send_text", "send_json", "send_bytes", "send_data", "send")
_QUEUE_PUTS = ("put", "put_nowait")  # a subscriber's asyncio.Queue that its stream or socket reads


def _sent_to(node, names, sends=_WS_SENDS) -> bool:
    """Whether `node` holds a call `<name>.send_text(...)` (a call of `sends`) with <name> in `names`."""
    for call in ast.walk(node):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in sends
                and isinstance(call.func.value, ast.Name) and call.func.value.id in names):
            return True
    return False


_FAN_OUT = ("it reaches the streams and sockets this instance holds: each one holds its instance for as long as it "
            "runs, so concurrent subscribers are spread over instances and a message published in one call reaches only "
            "those on that call's instance (the others get nothing, and a reconnect's Last-Event-ID finds another "
            "instance's history), where one uvicorn process reaches them all: publish through a service such as Redis "
            "pub/sub, or set limits.concurrency above 1 and limits.maxInstances: 1 (until a stream reaches "
            "limits.timeout: that instance then takes no new calls, and a new one starts with empty memory) "
            "(docs/api-invoke.md, \"Streaming\")")


def websocket_broadcasts(trees):
    """Warnings for a WebSocket app that sends one message to many sockets this process holds (the
    `ConnectionManager.broadcast` of FastAPI's WebSockets page: `for connection in
    self.active_connections: await connection.send_text(message)`, or a comprehension of sends): at
    the default `concurrency: 1` each connection holds an instance of its own, so every client heard
    only itself (apps rounds 10 and 17: three clients of one room, each saw one message of three;
    under uvicorn each saw all three). Only in a file with a WebSocket route. The same for a message
    put in every subscriber's queue (`for queue in subscribers: queue.put_nowait(event)`) in a file
    with a WebSocket route or a Server-Sent Events stream: each stream holds its instance while it
    runs, so a notification published in one call reached the subscribers of that call's instance
    only (apps round 23: 6 SSE subscribers (curl -N), 3 notifications, 4 subscribers got none; uvicorn:
    6 of 6), or a condition's `notify_all()` there (the waiters of one instance), or an event's `.set()`
    (`asyncio.Event`, `threading.Event`, `anyio.Event`: every stream awaiting `changed.wait()`; loose4).
    `needs: one-instance`."""
    found = []
    for rel, tree in trees.items():
        calls = [(node, name) for _, node, name in _calls({rel: tree})]
        sockets = any(name in _WS_ROUTES for _, name in calls)
        streams = any(_event_stream(node, name) for node, name in calls)
        if not sockets and not streams:
            continue
        events = _event_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called(node) == "notify_all":
                found.append({"file": rel, "line": node.lineno, "needs": "one-instance",
                              "message": f"notify_all() wakes the waiters of this instance (a broadcast): {_FAN_OUT}"})
                continue
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "set" \
                    and not node.args and not node.keywords and _last_name(node.func.value) in events:
                found.append({"file": rel, "line": node.lineno, "needs": "one-instance",
                              "message": f"an event's set() wakes the waiters of this instance (a broadcast): {_FAN_OUT}"})
                continue
            if isinstance(node, (ast.For, ast.AsyncFor)):
                body, names = ast.Module(body=node.body, type_ignores=[]), set(bound_names(node.target))
            elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
                body, names = node.elt, {n for g in node.generators for n in bound_names(g.target)}
            else:
                continue
            if sockets and _sent_to(body, names):
                found.append({"file": rel, "line": node.lineno, "needs": "one-instance",
                              "message": "a message sent to every WebSocket in a collection (a broadcast) reaches the "
                                         "connections this instance holds, and at limits.concurrency 1 each connection "
                                         "holds an instance of its own, so each client hears only itself: set "
                                         "limits.concurrency above 1 and limits.maxInstances: 1, or broadcast through a "
                                         "service such as Redis pub/sub (docs/api-invoke.md, \"WebSockets\")"})
            elif _sent_to(body, names, _QUEUE_PUTS):
                found.append({"file": rel, "line": node.lineno, "needs": "one-instance",
                              "message": f"a message put in every subscriber's queue (a broadcast): {_FAN_OUT}"})
    return found


def _last_name(node) -> str:
    """`x` of `x` or `a.b.x`, else ""."""
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _event_names(tree) -> set:
    """The names (`changed`, `self.changed`'s `changed`) bound to a new `Event()` (asyncio's, threading's,
    anyio's) anywhere in `tree`: their `.set()` wakes every waiter."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call) and _called(node.value) == "Event":
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                if _last_name(target):
                    names.add(_last_name(target))
    return names


def _event_stream(node, name) -> bool:
    """A Server-Sent Events response: sse-starlette's `EventSourceResponse(...)`, or a call given
    `media_type="text/event-stream"`."""
    return name == "EventSourceResponse" or any(
        k.arg == "media_type" and isinstance(k.value, ast.Constant) and k.value.value == "text/event-stream"
        for k in node.keywords)


def event_streams(trees):
    """Warnings for Server-Sent Events streams (sse-starlette's `EventSourceResponse(...)`, a
    response with `media_type="text/event-stream"`): a stream is one call, cut at limits.timeout
    (30 s by default) without its last chunk, where uvicorn streams for as long as the client reads
    (apps round 11: a live feed ended every 30 s, `curl: (18) transfer closed`, the run
    FUNCTION_TIMEOUT). `needs: long-timeout`, as for WebSockets."""
    found = []
    for rel, node, name in _calls(trees):
        if _event_stream(node, name):
            found.append({"file": rel, "line": node.lineno, "needs": "long-timeout",
                          "message": "a Server-Sent Events stream is one call: it holds an instance's slot and is cut "
                                     "at limits.timeout, 30 s by default (the client sees the stream end without its "
                                     "last chunk; an EventSource reconnects): set limits.timeout to the longest "
                                     "stream to keep (docs/api-invoke.md, \"Streaming\")"})
    return found


def _called(call) -> str:
    """The called name: `f` of `f(...)` or `x.f(...)`, else ""."""
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _calls(trees):
    """(file, call node, the called name: `f` of `f(...)` or `x.f(...)`, else "") for every call in `trees`."""
    for rel, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                yield rel, node, _called(node)


def _run_at_import(body):
    """Module-level statements as `module_level`, but not those under `if __name__ == "__main__":`."""
    for node in body:
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.If) and deps_imports._is_main_guard(node.test):
            yield from _run_at_import(node.orelse)
            continue
        for field in ("body", "orelse", "finalbody"):
            yield from _run_at_import(getattr(node, field, None) or [])
        for handler in getattr(node, "handlers", None) or []:
            yield from _run_at_import(handler.body)


def uncancelled_alarms(trees):
    """A warning for `signal.alarm(n)` (a timeout guard) in a file that never calls `signal.alarm(0)`:
    the alarm outlives a call that ends first and goes off in a later call, failing it with the
    guard's exception, or between calls, ending the instance (oddfn round; docs/runtime-protocol.md,
    "Serve")."""
    found = []
    for rel, tree in trees.items():
        armed, cancelled = None, False
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "alarm"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "signal" and len(node.args) == 1):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and arg.value == 0:
                cancelled = True
            elif armed is None or node.lineno < armed:
                armed = node.lineno
        if armed is not None and not cancelled:
            found.append({"file": rel, "line": armed,
                          "message": "signal.alarm() is never cancelled here (signal.alarm(0)): an alarm that outlives the "
                          "call that set it goes off in a later call of the instance (failing it with the alarm "
                          "handler's exception) or between calls (ending the instance); cancel it in a `finally`"})
    return found


_SERVER_APPS = ("Flask", "Quart", "Sanic")


def servers_at_import(trees, files, entry_file):
    """Warnings for a server started at import: `uvicorn.run(app, …)` (or Flask's `app.run()`) at
    module level, outside `if __name__ == "__main__":`. `python main.py` serves that way; here the
    runtime imports the module and serves the app itself, so the call tries to bind a port, which
    a box cannot (apps round 12: the deploy failed with `SystemExit: 3`, uvicorn's bind error only in
    the log). Only the modules the entrypoint imports: a `run.py` beside it is never imported."""
    found = []
    for rel in deps_imports.reached(trees, files, entry_file):
        statements = list(_run_at_import(trees[rel].body))
        from_uvicorn = {a.asname or a.name for n in statements if isinstance(n, ast.ImportFrom) and n.module == "uvicorn"
                        for a in n.names if a.name == "run"}
        uvicorns = {a.asname or a.name for n in statements if isinstance(n, ast.Import) for a in n.names if a.name == "uvicorn"}
        apps = {t.id for n in statements if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
                and isinstance(n.value.func, ast.Name) and n.value.func.id in _SERVER_APPS
                for t in n.targets if isinstance(t, ast.Name)}
        for node in statements:
            call = node.value if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) else None
            func = call.func if call is not None else None
            if isinstance(func, ast.Attribute) and func.attr == "run" and isinstance(func.value, ast.Name) and func.value.id in uvicorns | apps:
                what = f"{func.value.id}.run(...)"
            elif isinstance(func, ast.Name) and func.id in from_uvicorn:
                what = f"{func.id}(...)"
            else:
                continue
            found.append({"file": rel, "line": node.lineno,
                          "message": f"{what} runs when the module is imported, outside `if __name__ == \"__main__\":`: "
                                     "the platform imports the module and serves the app itself, so this starts a server "
                                     "of its own, which cannot bind a port here (the start fails, uvicorn with SystemExit: 3): "
                                     "put it under `if __name__ == \"__main__\":` (docs/api-invoke.md, \"What differs from uvicorn\")"})
    return found


_SOCKETIO_MODULES = ("socketio", "engineio", "flask_socketio")


def _imports_any(tree, modules) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in modules for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in modules:
            return True
    return False


def _imports_socketio(tree) -> bool:
    return _imports_any(tree, _SOCKETIO_MODULES)


def socketio_apps(trees):
    """Warnings for Socket.IO / Engine.IO apps (`socketio.ASGIApp(...)`, `WSGIApp`, Flask-SocketIO's
    `SocketIO(app)`): a client starts its session on HTTP long-polling, and the session lives in the
    process that opened it; a message sent while a poll is open (or the upgrade to a WebSocket) goes
    to another instance at `concurrency: 1` and answers `400 Invalid session` (apps round 6). `needs: one-instance` lets the CLI drop the warning when
    the manifest's limits keep one instance taking concurrent calls (protocol/code-checks.ts)."""
    found = []
    for rel, tree in trees.items():
        if not _imports_socketio(tree):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in ("ASGIApp", "WSGIApp", "SocketIO"):
                found.append({"file": rel, "line": node.lineno, "needs": "one-instance",
                              "message": f"{name}(...): a Socket.IO session starts on HTTP long-polling and lives in "
                                         "the instance that opened it: set limits.concurrency above 1 and limits.maxInstances: 1 "
                                         "(or have clients use transports: ['websocket'] only), or messages sent while a poll is "
                                         "open answer 400 Invalid session (docs/api-invoke.md)"})
    return found


_MCP_APPS = ("streamable_http_app", "http_app", "sse_app", "mount_http", "mount_sse")
_MCP_ONE_INSTANCE = ("sse_app", "mount_http", "mount_sse")  # no session-less mode (fastapi-mcp's are always stateful)
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _true_keyword(tree, arg) -> bool:
    """`arg=True` passed to any call of `tree`, or `x.arg = True` assigned (FastMCP's `settings`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == arg and isinstance(node.value, ast.Constant) and node.value.value is True:
            return True
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is True
                and any(isinstance(t, ast.Attribute) and t.attr == arg for t in node.targets)):
            return True
    return False


def mcp_apps(trees):
    """Warnings for MCP servers served over HTTP (the `mcp` SDK's `streamable_http_app()`/`sse_app()`,
    FastMCP's `http_app()`, fastapi-mcp's `mount_http()`/`mount_sse()`), apps round 16:
    - a stateful session (the SDK's default) lives in the process that answered `initialize`: the
      SDK's own client keeps a GET stream open, so at `concurrency: 1` its next POST reached another
      instance and answered 404 "Session not found" (uvicorn: 3 calls on one pid). `needs:
      one-instance`; `stateless_http=True` anywhere in the file answers it too.
    - the `mcp` SDK's DNS-rebinding protection, on for its default `host="127.0.0.1"`, accepts a
      Host of 127.0.0.1, localhost or [::1] only: at the function's own host (`<name>.localhost`)
      every request answered 421 "Invalid Host header" (under `/fn/<name>/` on 127.0.0.1 it passed).
      Not when the file passes `transport_security=` or a `host=` that is not local."""
    found = []
    for rel, tree in trees.items():
        if not _imports_any(tree, ("mcp", "fastmcp", "fastapi_mcp")):
            continue
        stateless = _true_keyword(tree, "stateless_http")
        guarded = not _imports_any(tree, ("mcp",)) or any(
            isinstance(n, ast.keyword) and (n.arg == "transport_security" or (
                n.arg == "host" and not (isinstance(n.value, ast.Constant) and n.value.value in _LOCAL_HOSTS)))
            for n in ast.walk(tree))
        for _, node, name in _calls({rel: tree}):
            if name not in _MCP_APPS:
                continue
            if not stateless or name in _MCP_ONE_INSTANCE:
                fix = "" if name in _MCP_ONE_INSTANCE else "pass stateless_http=True (Streamable HTTP), or "
                found.append({"file": rel, "line": node.lineno, "needs": "one-instance",
                              "message": f"{name}(...): an MCP session lives in the instance that answered `initialize`, "
                                         "and a client keeps a stream open on it, so at limits.concurrency 1 its next "
                                         f"call reaches another instance and answers 404 \"Session not found\": {fix}"
                                         "set limits.concurrency above 1 and limits.maxInstances: 1 (docs/api-invoke.md)"})
            if not guarded:
                found.append({"file": rel, "line": node.lineno,
                              "message": f"{name}(...): the MCP SDK's DNS-rebinding protection (on for its default "
                                         "host=\"127.0.0.1\") accepts a Host of 127.0.0.1, localhost or [::1] only, so at "
                                         "the function's own host (<name>.localhost, your base domain) every request "
                                         "answers 421 Invalid Host header: pass transport_security=TransportSecuritySettings"
                                         "(allowed_hosts=[...]) naming that host (docs/api-invoke.md)"})
    return found


_ONE_INSTANCE_UIS = {
    ("gradio", "mount_gradio_app"): "Gradio's queue keeps each request in the instance that took it and answers on "
                                    "that instance's stream, so at limits.concurrency 1 concurrent users wait for "
                                    "answers that never come",
    ("nicegui", "run_with"): "NiceGUI keeps each page's state in the instance that served it and the browser's "
                             "Socket.IO connection must reach that instance, so at limits.concurrency 1 concurrent "
                             "users' pages reload over and over and their clicks go unanswered",
    ("shiny", "App"): "Shiny keeps each session in the instance holding its WebSocket, and file uploads and "
                      "downloads are HTTP requests to that session, so at limits.concurrency 1 they reach another "
                      "instance and answer 404",
    ("litestar", "MemoryChannelsBackend"): "Litestar's memory channels backend delivers a message to the subscribers "
                                           "of the instance that published it, and at limits.concurrency 1 each "
                                           "subscriber's WebSocket holds an instance of its own, so nobody hears it "
                                           "(or use the Redis backend, RedisChannelsPubSubBackend)",
}


def ui_apps(trees):
    """Warnings for Python UI frameworks mounted in FastAPI whose browser sessions live in one process
    (apps round 16, at the default `concurrency: 1`): Gradio (`gr.mount_gradio_app`): its queue answers
    on the `queue/data` stream of the instance that took `queue/join`, and 2 of 4 concurrent
    gradio_client calls timed out (uvicorn: 4 of 4); NiceGUI (`ui.run_with`): a page's state is the
    serving instance's, and of 5 browsers at once 2 never saw their click answered and the others
    reloaded 2-4 times (uvicorn: 5 of 5, one load each); Shiny (`App(ui, server)`): its session is the
    instance holding the WebSocket, and every upload (`/session/<id>/upload/…`) and download answered
    404 (uvicorn: 3 of 3). Litestar's channels on `MemoryChannelsBackend()` (apps round 17): a message
    published over HTTP reached none of 3 WebSocket subscribers (uvicorn: 3 of 3; with one instance
    taking concurrent calls, 3 of 3). `needs: one-instance`."""
    found = []
    for (module, call), why in _ONE_INSTANCE_UIS.items():
        for rel, node, name in _calls({r: t for r, t in trees.items() if _imports_any(t, (module,))}):
            if name == call:
                found.append({"file": rel, "line": node.lineno, "needs": "one-instance",
                              "message": f"{call}(...): {why}: set limits.concurrency above 1 and "
                                         "limits.maxInstances: 1 (docs/api-invoke.md)"})
    return found


def memory_broadcasts(trees):
    """Warnings for encode/broadcast on its memory backend (`Broadcast("memory://")`, or that URL as the
    default of an environment lookup): it delivers a message to the subscribers of the instance that
    published it, and at the default `concurrency: 1` each WebSocket holds an instance of its own, so
    in its README's chat each of 3 clients heard only itself and a message published over HTTP
    reached none (apps round 19; uvicorn: 4 of 4 each; with one instance taking concurrent calls,
    4 of 4). Not for its other backends (`redis://`, `postgres://`, `kafka://`), nor for `memory://` as the
    default of an environment lookup (the function's env may name another). `needs: one-instance`."""
    found = []
    for rel, node, name in _calls({r: t for r, t in trees.items() if _imports_any(t, ("broadcaster",))}):
        if name == "Broadcast" and _outside_env_lookup(node, lambda n: isinstance(n, ast.Constant) and str(n.value).startswith("memory://")):
            found.append({"file": rel, "line": node.lineno, "needs": "one-instance",
                          "message": "Broadcast(\"memory://\"): broadcaster's memory backend delivers a message to the "
                                     "subscribers of the instance that published it, and at limits.concurrency 1 each "
                                     "WebSocket holds an instance of its own, so each client hears only itself: set "
                                     "limits.concurrency above 1 and limits.maxInstances: 1, or use its redis:// or "
                                     "postgres:// backend (docs/api-invoke.md, \"WebSockets\")"})
    return found


def _route_path(call):
    """The path a route call names (`app.post("/x")`, `app.add_api_route(path="/x", ...)`), or None."""
    arg = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "path"), None)
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


_VERBS = ("get", "post", "put", "patch", "delete", "head", "options")


def _methods(call, name):
    """The methods a route call takes: `.post(...)` POST, `methods=[...]` those it names, else GET
    (FastAPI's `api_route`/`add_api_route` and Starlette's `route`/`add_route` default)."""
    if name in _VERBS:
        return [name.upper()]
    methods = next((k.value for k in call.keywords if k.arg == "methods"), None)
    if isinstance(methods, (ast.List, ast.Tuple, ast.Set)):
        return [str(m.value).upper() for m in methods.elts if isinstance(m, ast.Constant)]
    return ["GET"]


def trigger_routes(trees):
    """A FastAPI app's routes, for the triggers' `method` and `path` to be checked against (ADR 0175):
    a webhook trigger calls `POST <its path>` (default `/`), and a receiver written at
    `@app.post("/webhooks/github")` answered every verified delivery 404 at `/` (apps round 20); a
    cron trigger's tick is a run of `<its method> <its path>` (default `POST /`), and Vercel's crons
    call `GET /api/cron` (apps round 21). One finding per app, `needs: triggers` with `routes` (each
    `"<METHOD> <path>"`): the control plane keeps it for the first trigger whose call is not among
    them, and says which (protocol/code-checks.ts). Only for an app made in the file with no router
    included or app mounted, and no path made at run time (their paths are not known here)."""
    found = []
    for rel, tree in trees.items():
        if _is_test_file(rel) or not _imports_any(tree, ("fastapi",)):
            continue
        apps = {t.id for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
                and _called(n.value) == "FastAPI" for t in n.targets if isinstance(t, ast.Name)}
        routes, opaque = [], False
        for _, node, name in _calls({rel: tree}):
            func = node.func
            if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in apps):
                continue
            if name in ("include_router", "mount", "host"):
                opaque = True
            elif name in _VERBS or name in ("api_route", "add_api_route", "route", "add_route"):
                path = _route_path(node)
                if path is None:
                    opaque = True  # a path made at run time: where it is is not known here
                else:
                    routes.extend((node.lineno, f"{m} {path or '/'}") for m in _methods(node, name))
        if routes and not opaque:
            found.append({"file": rel, "line": routes[0][0], "needs": "triggers", "routes": [r for _, r in routes],
                          "lines": [ln for ln, _ in routes],
                          "message": f"this app's routes are {', '.join(r for _, r in routes)}: a trigger calls it at "
                                     f"<its method> <its path> (default POST /)"})
    return found


def batched_console_spans(trees):
    """Warnings for OpenTelemetry's getting-started tracing, `BatchSpanProcessor(ConsoleSpanExporter())`:
    the processor's thread prints each span up to 5 s after its call ended, so the spans belong to no
    run and reach the platform's log (`[function … outside a call]`), not `logs <name>`; and a
    processor made at import is a thread that keeps the version from a template (apps round 19: 0 of
    4 span lines in the function's logs, 4 in the platform's; with `SimpleSpanProcessor` 4 of 4 and a
    template). Always (not `needs`)."""
    found = []
    for rel, node, name in _calls({r: t for r, t in trees.items() if _imports_any(t, ("opentelemetry",))}):
        if name == "BatchSpanProcessor" and any(isinstance(c, ast.Call) and _called(c) == "ConsoleSpanExporter"
                                                for a in node.args for c in ast.walk(a)):
            found.append({"file": rel, "line": node.lineno,
                          "message": "BatchSpanProcessor(ConsoleSpanExporter()): its thread prints each span after the "
                                     "call ended, so the spans reach the platform's log, not `fastapi-platform logs`, and "
                                     "a processor made at import keeps the version from a template: use "
                                     "SimpleSpanProcessor for the console exporter (batch an OTLP exporter, set up in the "
                                     "lifespan) (docs/libraries.md)"})
        elif name == "initialize" and _imports_module(trees[rel], _OTEL_AUTO):
            found.append({"file": rel, "line": node.lineno,
                          "message": "OpenTelemetry's initialize() (zero-code instrumentation, as opentelemetry-instrument "
                                     "runs it) batches the exporter in a thread it starts at import: the version gets no "
                                     "template (each new instance imports it again), and with OTEL_TRACES_EXPORTER=console the "
                                     "spans are printed after the call, in the platform's log, not `fastapi-platform logs`: "
                                     "make a TracerProvider with SimpleSpanProcessor(ConsoleSpanExporter()) and call "
                                     "FastAPIInstrumentor.instrument_app(app), or batch an OTLP exporter set up in the lifespan "
                                     "(docs/libraries.md)"})
    return found


# Where OpenTelemetry's zero-code instrumentation is started from code (apps round 24).
_OTEL_AUTO = "opentelemetry.instrumentation.auto_instrumentation"


def _imports_module(tree, module) -> bool:
    """Whether `tree` imports `module` itself (`import m`, `from m import x`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == module for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == module:
            return True
    return False


# Calls that make a new random value each time the module is imported (apps round 19).
_RANDOM_CALLS = ("urandom", "token_hex", "token_urlsafe", "token_bytes", "uuid4", "randbytes", "getrandbits",
                 "get_random_secret_key", "generate_key")
_ENV_LOOKUPS = ("getenv", "get", "config")
_PER_INSTANCE_WHY = ("each instance imports the module and makes a key of its own, so a session cookie one instance "
                     "signed is refused by the next (a new instance under concurrent calls, after the idle timeout, "
                     "after a deploy): the user is logged out at random, where one uvicorn process keeps its key "
                     "until it restarts.")
_PER_INSTANCE_KEY = (_PER_INSTANCE_WHY + " Give the key from a secret: `fastapi-platform env set SESSION_SECRET=... "
                     "--secret`, then os.environ[\"SESSION_SECRET\"] (docs/api-invoke.md, \"State lives per instance\")")


def _outside_env_lookup(node, hit) -> bool:
    """Whether `hit` holds for `node` or a node within it, not counting what an environment lookup is
    given (`os.environ.get("K", <default>)`, `os.getenv("K") or <default>`, Starlette's `config("K", default=...)`):
    that default applies only where the variable is unset, which the check cannot know."""
    if hit(node):
        return True
    if isinstance(node, ast.Call) and _called(node) in _ENV_LOOKUPS:
        return False
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and any(
            isinstance(v, ast.Call) and _called(v) in _ENV_LOOKUPS for v in node.values):
        return False  # `os.getenv("K") or secrets.token_hex()`: a default too
    return any(_outside_env_lookup(child, hit) for child in ast.iter_child_nodes(node))


def _env_lookup(node):
    """For an environment lookup (`os.environ.get("K", <default>)`, `os.getenv("K") or <default>`,
    Starlette's or decouple's `config("K", default=...)`): the variable's name, "" when it is not a
    constant or the `.get` is not `os.environ`'s; None for any other node."""
    if isinstance(node, ast.Call):
        calls = [node]
    elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        calls = [v for v in node.values if isinstance(v, ast.Call)]
    else:
        return None
    calls = [c for c in calls if _called(c) in _ENV_LOOKUPS]
    if not calls:
        return None
    for call in calls:
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        if _called(call) == "get" and not (isinstance(receiver, ast.Attribute) and receiver.attr == "environ"
                                           or isinstance(receiver, ast.Name) and receiver.id == "environ"):
            continue
        if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
            return call.args[0].value
    return ""


def _any_case(any_case: bool) -> dict:
    """A `needs: env` finding's `envAnyCase`: true when the variable may be set in any case (a
    pydantic-settings field's, unless its class says `case_sensitive=True`); left out for an
    `os.environ`/`os.getenv` lookup, whose names are case-sensitive (protocol/code-checks.ts `envSets`)."""
    return {"envAnyCase": True} if any_case else {}


def _random_value(node, names) -> bool:
    """Whether `node` makes a new random value: a call of _RANDOM_CALLS, or a name in `names` (module-level
    names bound to one), outside an environment lookup."""
    return _outside_env_lookup(node, lambda n: (isinstance(n, ast.Name) and n.id in names)
                               or (isinstance(n, ast.Call) and _called(n) in _RANDOM_CALLS))


def _secret_target(target) -> bool:
    """`x.secret_key = …` (Flask), `x.config["SECRET_KEY"] = …`, `SECRET_KEY = …` (a settings module)."""
    if isinstance(target, ast.Attribute):
        return target.attr == "secret_key"
    if isinstance(target, ast.Subscript):
        return isinstance(target.slice, ast.Constant) and target.slice.value == "SECRET_KEY"
    return isinstance(target, ast.Name) and target.id == "SECRET_KEY"


def _settings_class(node) -> bool:
    """A pydantic-settings class: `class Settings(BaseSettings)` (pydantic_settings, or pydantic 1's)."""
    return isinstance(node, ast.ClassDef) and any(
        (isinstance(b, ast.Name) and b.id == "BaseSettings") or (isinstance(b, ast.Attribute) and b.attr == "BaseSettings")
        for b in node.bases)


def _settings_option(cls, option):
    """A constant a settings class gives `option` (`model_config = SettingsConfigDict(env_prefix="X_")`,
    pydantic 1's `class Config: env_prefix = "X_"`), else None."""
    for node in ast.walk(cls):
        if isinstance(node, ast.keyword) and node.arg == option and isinstance(node.value, ast.Constant):
            return node.value.value
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == option for t in node.targets) \
                and isinstance(node.value, ast.Constant):
            return node.value.value
    return None


def _settings_fields(cls):
    """(statement, its target name, the variable that sets it, whether the environment's name may be in
    any case) for each field of a pydantic-settings class given a default (`SECRET_KEY: str = ...`): the
    variable is the field's name after `env_prefix`, upper-cased and matched in any case unless the class
    says `case_sensitive=True` (as pydantic-settings reads the environment)."""
    prefix = _settings_option(cls, "env_prefix")
    exact = _settings_option(cls, "case_sensitive") is True
    for node in cls.body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
        if isinstance(target, ast.Name) and node.value is not None:
            var = (prefix if isinstance(prefix, str) else "") + target.id
            yield node, target, var if exact else var.upper(), not exact


def settings_keys(trees):
    """Warnings for a pydantic-settings field whose default is a key made at import, as FastAPI's
    full-stack template writes it (`SECRET_KEY: str = secrets.token_urlsafe(32)`, its value given by
    the `.env` one folder up, which is not the deployed folder): without the variable in the function's
    env each instance signs its JWTs with a key of its own, so a token one instance issued is refused
    by the next (apps round 22: 3 of 8 concurrent `/users/me` calls answered 403 "Could not validate
    credentials"; uvicorn 8 of 8). The default applies only where the variable is unset, so `needs:
    env` with the variable's name (`env`): the CLI drops the warning where the manifest's env sets it,
    and `deploy` where the function has it (a secret). Not in test files."""
    found = []
    for rel, tree in trees.items():
        if _is_test_file(rel):
            continue
        for cls in ast.walk(tree):
            if not _settings_class(cls):
                continue
            for node, target, var, any_case in _settings_fields(cls):
                if "secret" not in target.id.lower() or not _random_value(node.value, set()):
                    continue
                found.append({"file": rel, "line": node.lineno, "needs": "env", "env": var, **_any_case(any_case),
                              "message": f"{target.id}'s default is a key made at import, and the function's env does not "
                                         f"set {var}: each instance imports the module and makes a key of its own, so a "
                                         f"token or session cookie one instance signed is refused by the next (a new instance "
                                         f"under concurrent calls, after the idle timeout, after a deploy; a JWT login answers "
                                         f"403 at random), where one uvicorn process keeps its key until it restarts. Give it "
                                         f"from a secret: `fastapi-platform env set <name> {var}=... --secret` (a .env file is not "
                                         f"deployed: docs/api-invoke.md, \"State lives per instance\")"})
    return found


def env_files(trees):
    """The dotenv files the code names as constants: pydantic-settings' `env_file="../.env"` (or a
    tuple of them), `load_dotenv("../.env")`. `deploy` compares those outside the folder with the
    function's env: FastAPI's full-stack template reads `../.env`, the repository's, one folder above
    the backend that is deployed (apps round 22). Not in test files."""
    found = []
    for rel, tree in trees.items():
        if _is_test_file(rel):
            continue
        for node in ast.walk(tree):
            given = None
            if isinstance(node, ast.keyword) and node.arg in ("env_file", "dotenv_path"):
                given = node.value
            elif isinstance(node, ast.Call) and _called(node) in ("load_dotenv", "dotenv_values") and node.args:
                given = node.args[0]
            if given is None:
                continue
            for value in (given.elts if isinstance(given, (ast.Tuple, ast.List)) else [given]):
                if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value not in found:
                    found.append(value.value)
    return found


def _random_fallback(node, names) -> str:
    """The variable whose environment lookup `node` falls back to a new random value from
    (`os.getenv("SECRET_KEY", secrets.token_hex())`, `os.environ.get("K") or os.urandom(24)`), else "":
    a key of each instance's own wherever the function's env does not set it (apps round 23)."""
    for sub in ast.walk(node):
        var = _env_lookup(sub)
        if var and any((isinstance(n, ast.Name) and n.id in names) or (isinstance(n, ast.Call) and _called(n) in _RANDOM_CALLS)
                       for n in ast.walk(sub)):
            return var
    return ""


def session_keys(trees, files):
    """Warnings for a session-signing key made at import, so each instance has its own (apps round 19):
    `secret_key=` (Starlette's `SessionMiddleware`, Quart, FastHTML) or `app.secret_key =` /
    `app.config["SECRET_KEY"] =` / `SECRET_KEY =` given `secrets.token_hex()`, `os.urandom()`,
    `uuid.uuid4()`, …; and FastHTML's `fast_app()`/`FastHTML()` without `secret_key=`, which reads
    `.sesskey` from the working directory or writes a new random one there: a dotfile, never uploaded,
    and each instance's working directory is its own. The FastHTML tutorial's app kept its session in
    2 of 6 concurrent calls (the instance that set the cookie; 4 new instances each wrote a key of
    their own); uvicorn 6 of 6. Always (not `needs`): one instance loses its key at the idle timeout."""
    found = []
    for rel, tree in trees.items():
        if _is_test_file(rel):
            continue
        names = {t.id for n in tree.body if isinstance(n, ast.Assign) and _random_value(n.value, set())
                 for t in n.targets if isinstance(t, ast.Name)}
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "secret_key":
                value, what, line = node.value, "secret_key=...", node.value.lineno
            elif isinstance(node, ast.Assign) and any(_secret_target(t) for t in node.targets):
                value, what, line = node.value, "a secret key made at import", node.lineno
            else:
                continue
            if _random_value(value, names):
                found.append({"file": rel, "line": line, "message": f"{what}: {_PER_INSTANCE_KEY}"})
                continue
            var = _random_fallback(value, names)
            if var:
                found.append({"file": rel, "line": line, "needs": "env", "env": var,
                              "message": f"{what}: {var}'s default is a key made at import, and the function's env does "
                                         f"not set {var}: {_PER_INSTANCE_WHY} Set it from a secret: `fastapi-platform env "
                                         f"set <name> {var}=... --secret` (docs/api-invoke.md, \"State lives per instance\")"})
        if not _imports_any(tree, ("fasthtml",)):
            continue
        for _, node, name in _calls({rel: tree}):
            if name not in ("fast_app", "FastHTML", "FastHTMLWithLiveReload"):
                continue
            kw = {k.arg: k.value for k in node.keywords}
            key = kw.get("secret_key")
            fname = kw.get("key_fname")
            fname = fname.value if isinstance(fname, ast.Constant) and isinstance(fname.value, str) else ".sesskey"
            if (key is None or (isinstance(key, ast.Constant) and key.value is None)) and fname not in files and None not in kw:
                found.append({"file": rel, "line": node.lineno,
                              "message": f"{name}(...) without secret_key: FastHTML signs sessions with the key in "
                                         f"{fname}, which it writes in the working directory when there is none (a "
                                         f"dotfile: deploy does not upload it): {_PER_INSTANCE_KEY}"})
    return found


# A SQLite URL naming a file: `sqlite:///database.db`, `sqlite+aiosqlite:///./app.db` (not `:memory:`).
_SQLITE_URL = re.compile(r"sqlite(\+\w+)?:///(?!:memory:)(?P<path>.*)")
_SCRATCH_DIRS = ("/tmp/", "/dev/shm/")


def _leading_text(node):
    """The text a string expression starts with: a constant's, an f-string's first literal part."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return node.values[0].value
    return None


def _env_defaults(tree):
    """(spared, defaults) of a module, for checks of literal URLs: `spared` holds the ids of nodes
    that are no URL the app uses (what a lookup of no named variable is given, docstrings, the
    parts of an f-string, judged whole); `defaults` maps a node's id to (the variable whose default
    it is, whether its name may be in any case): an env lookup's (os.environ's names are
    case-sensitive), a pydantic-settings field's."""
    spared, defaults = set(), {}
    for node in ast.walk(tree):
        var = _env_lookup(node)
        if _settings_class(node):
            for field, _, name, any_case in _settings_fields(node):
                for n in ast.walk(field.value):
                    defaults.setdefault(id(n), (name, any_case))
        elif var:
            for n in ast.walk(node):
                defaults.setdefault(id(n), (var, False))
        elif var is not None:
            spared.update(id(n) for n in ast.walk(node))
        elif isinstance(node, ast.Expr):
            spared.add(id(node.value))
        elif isinstance(node, ast.JoinedStr):
            spared.update(id(v) for v in node.values)
    return spared, defaults


def _app_nodes(trees):
    """(file, node, defaults) for every node of the app's modules (not test files) that may be a URL
    the app uses: not spared by _env_defaults; `defaults` is that module's."""
    for rel, tree in trees.items():
        if _is_test_file(rel):
            continue
        spared, defaults = _env_defaults(tree)
        for node in ast.walk(tree):
            if id(node) not in spared:
                yield rel, node, defaults


_MONGO_URL = re.compile(r"mongodb(\+srv)?://[^/?]")  # a host written out: f"mongodb://{host}" is not


def mongo_urls(trees):
    """Warnings for a MongoDB URL written in the code (`MongoClient("mongodb://localhost:27017")`,
    an env lookup's default, a settings field's), as an app moved from its own server or Atlas has it:
    on the platform a function's database is its data binding, reached through FP_MONGO_URI, and a
    server on localhost is not there: pymongo waits its server selection timeout (30 s) and the call
    ends FUNCTION_TIMEOUT naming nothing (apps round 25). A default applies only where its variable
    is unset: `needs: env` with its name. Not in test files, docstrings or lookups of no named variable."""
    found = []
    for rel, node, defaults in _app_nodes(trees):
        if _MONGO_URL.match(_leading_text(node) or ""):
            advice = ("on the platform a function's database is its data binding: declare data.mongo in "
                      "platform.yaml and use context.db, or build the client from os.environ[\"FP_MONGO_URI\"] "
                      "(its database: FP_MONGO_DATABASE); a server on localhost is not there (pymongo waits 30 s "
                      "for it and the call times out) (docs/data-binding.md)")
            var, any_case = defaults.get(id(node), ("", False))
            if var:
                found.append({"file": rel, "line": node.lineno, "needs": "env", "env": var, **_any_case(any_case),
                              "message": f"{var}'s default is a MongoDB URL and the function's env does not set {var}: {advice}"})
            else:
                found.append({"file": rel, "line": node.lineno, "message": f"a MongoDB URL written in the code: {advice}"})
    return found


def group_accumulators(trees):
    """Warnings for a `$group` stage with more than one accumulator written in the code
    (`{"$group": {"_id": "$cat", "total": {"$sum": "$price"}, "n": {"$sum": 1}}}`): on a data binding
    the server is FerretDB 1.24, which hands each accumulator after the first an exhausted cursor, so
    `n` comes back 0 with no error (apps round 25; docs/data-binding.md). Not in test files."""
    found = []
    for rel, node, _defaults in _app_nodes(trees):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values):
            if not (isinstance(key, ast.Constant) and key.value == "$group" and isinstance(value, ast.Dict)):
                continue
            names = [k.value for k in value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            accumulators = [n for n in names if n != "_id"]
            if len(accumulators) > 1:
                found.append({"file": rel, "line": value.lineno, "message": (
                    f"a $group with {len(accumulators)} accumulators ({', '.join(accumulators)}): on a data binding "
                    f"(FerretDB 1.24) every accumulator after the first comes back 0 with no error, so the platform "
                    f"refuses the pipeline (DATA_PIPELINE_UNSUPPORTED); group once per "
                    f"accumulator (an aggregate call each) or count with count_documents; a MongoDB server computes "
                    f"them all (docs/data-binding.md, \"What works, and known differences\")")})
    return found


def created_databases(trees, files):
    """Warnings for a SQLite database the app makes outside /tmp, as FastAPI's SQL tutorial does
    (`sqlite:///database.db`, `create_all` in the lifespan), or `sqlite3.connect("app.db")`: under
    uvicorn the file stays on disk, so every request, restart and redeploy sees the rows; here it
    is written in the instance's own layer over the working directory (root mode; in user-namespace
    mode the directory is read-only), which no other instance, cold start or deploy sees (apps round
    20: a hero created by one call was missing from 5 of 6 concurrent reads, and from every read after
    the idle timeout and after a redeploy). Not under /tmp (chosen as scratch), not a database shipped
    with the code (shipped_databases warns about it), not in test files. Always (not `needs`): one
    instance loses it at the idle timeout too; but the default of an environment lookup
    (`os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///./todos.db")`) or of a pydantic-settings
    field applies only where the variable is unset: `needs: env` with its name (apps round 23: deployed
    without it, a todo one call created was in 4 of 8 concurrent reads). A lookup of no named variable
    (`cfg.get("db", ...)`) is spared."""
    found = []
    for rel, node, defaults in _app_nodes(trees):
        if isinstance(node, ast.Call) and _called(node) == "connect" and node.args and isinstance(
                node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and node.func.value.id in (
                "sqlite3", "aiosqlite"):
            path = _leading_text(node.args[0])
            if not path or path == ":memory:" or path.startswith("file:"):
                continue
        else:
            url = _SQLITE_URL.match(_leading_text(node) or "")
            if not url:
                continue
            path = url.group("path")
        if path.startswith(_SCRATCH_DIRS) or os.path.normpath(path) in files:
            continue  # scratch, or a database shipped with the code (shipped_databases)
        var, any_case = defaults.get(id(node), ("", False))
        if var:
            found.append({"file": rel, "line": node.lineno, "needs": "env", "env": var, **_any_case(any_case),
                          "message": f"{var}'s default is a SQLite database the app writes in the working directory, "
                                     f"and the function's env does not set {var}: on the platform each instance writes "
                                     f"its own copy, which no other instance, cold start or deploy sees, so rows one call "
                                     f"wrote are missing from calls that scale out to other instances, and all are gone "
                                     f"after the idle timeout, a redeploy or a rollback, where under uvicorn the file "
                                     f"stays. Set {var} to a database server's URL from a secret (`fastapi-platform env "
                                     f"set <name> {var}=... --secret`), or to a path under /tmp for scratch data "
                                     f"(docs/api-invoke.md, \"State lives per instance\")"})
            continue
        found.append({"file": rel, "line": node.lineno,
                      "message": "a SQLite database the app writes in the working directory: on the platform each "
                                 "instance writes its own copy, which no other instance, cold start or deploy sees, so "
                                 "rows one call wrote are missing from calls that scale out to other instances, and all "
                                 "are gone after the idle timeout, a redeploy or a rollback, where under uvicorn the file "
                                 "stays (in user-namespace mode the working directory is read-only: opening it fails). "
                                 "Keep data in a database server (its URL from a secret: `fastapi-platform env set "
                                 "DATABASE_URL=... --secret`) or the data binding; for scratch data name a path under "
                                 "/tmp (docs/api-invoke.md, \"State lives per instance\")"})
    return found


SQLITE_MAGIC = b"SQLite format 3\x00"


def shipped_databases(root, files):
    """Warnings for SQLite database files in the bundle (any name: `catalog.db`, `data/app.sqlite3`):
    deployed files are read-only on the platform, so the app reads them but every write fails
    with "attempt to write a readonly database" (a 500), where under uvicorn it works (apps round
    11: a seeded catalog shipped with the code, and the `shop.db` a local uvicorn run had made in
    the folder, uploaded by the next deploy: the platform served the local data and refused every
    write). Only the first 16 bytes of each file are read, not
    through a link."""
    found = []
    for rel in files:
        try:
            fd = os.open(os.path.join(root, rel), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            head = os.read(fd, len(SQLITE_MAGIC)) if S_ISREG(os.fstat(fd).st_mode) else b""
        except OSError:
            head = b""
        finally:
            os.close(fd)
        if head == SQLITE_MAGIC:
            found.append({"file": rel, "line": None,
                          "message": "a SQLite database: deployed files are read-only on the platform, so reads work but "
                                     "every write fails with 'attempt to write a readonly database'. A local one (made by "
                                     "running the app here) is not for the platform: add its name to .platformignore. One "
                                     "that ships data: copy it at startup (shutil.copy) to /tmp and open the copy, the instance's "
                                     "own (its writes go with the instance) (docs/api-invoke.md, \"What differs from uvicorn\")"})
    return found


def declared_python(root, files):
    """Warnings for a Python version the project declares that this interpreter (the runtime's:
    every module is compiled with it) is not: pyproject.toml's `requires-python` (`uv init` writes
    the Python it ran with, `>=3.12`), Poetry's `python` constraint, `.python-version` and
    Heroku's `runtime.txt` (`python-3.12.1`). The platform does not read them (apps round 11: a
    `requires-python = ">=3.12"` project deployed on 3.11 without a word)."""
    here, found = ".".join(map(str, sys.version_info[:3])), []

    def text(name):
        path = os.path.join(root, name)
        if (name not in files and not name.startswith(".")) or os.path.islink(path) or not os.path.isfile(path):
            return None
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return handle.read(65536)
        except OSError:
            return None

    def warn(file, what):
        found.append({"file": file, "line": None,
                      "message": f"{what}, but the platform runs functions on Python {here} (the interpreter validate "
                                 "compiled them with): code that needs a newer Python fails at import or when a call reaches it "
                                 "(`type X = ...`, itertools.batched); declare and test the version that runs it"})

    source = text("pyproject.toml")
    if source is not None:
        import tomllib
        try:
            data = tomllib.loads(source)
        except (tomllib.TOMLDecodeError, ValueError, RecursionError):
            data = {}
        wanted = []
        requires = (data.get("project") or {}).get("requires-python") if isinstance(data.get("project"), dict) else None
        if isinstance(requires, str):
            wanted.append(("requires-python", requires, requires))
        poetry = ((data.get("tool") or {}).get("poetry") or {}) if isinstance(data.get("tool"), dict) else {}
        python = (poetry.get("dependencies") or {}).get("python") if isinstance(poetry, dict) and isinstance(poetry.get("dependencies"), dict) else None
        if isinstance(python, str):
            try:
                wanted.append(("[tool.poetry.dependencies] python", python, deps_requirements.poetry_constraint(python, "python", "pyproject.toml")))
            except deps_requirements.BadRequirement:
                pass
        for what, declared, specifier in wanted:
            try:
                from pip._vendor.packaging.specifiers import SpecifierSet
                ok = SpecifierSet(specifier).contains(here, prereleases=True)
            except Exception:  # noqa: BLE001 - no pip, or a specifier it cannot read: nothing to say
                continue
            if not ok:
                warn("pyproject.toml", f"{what} is {declared!r}")
    for name in (".python-version", "runtime.txt"):
        source = text(name)
        first = source.strip().splitlines()[0].strip() if source and source.strip() else ""
        match = re.match(r"^(?:python-)?(\d+)\.(\d+)", first)
        if match and (int(match.group(1)), int(match.group(2))) != tuple(sys.version_info[:2]):
            warn(name, f"it names Python {first}")
    return found


def check(root, entrypoint, files, installed=None):
    """The report for `files` (relative paths) of `root`; `entrypoint` "" skips its check.
    `installed`: the distributions a dependency build installed (fp_deps/imports.py `undeclared`)."""
    trees, syntax_errors, warns = {}, [], []
    for rel in files:
        if not rel.endswith(".py"):
            continue
        tree, error, found = compile_file(root, rel)
        warns.extend(found)
        if error:
            syntax_errors.append(error)
        else:
            trees[rel] = tree
    entry, problems = check_entrypoint(entrypoint, set(files), trees, {e["file"] for e in syntax_errors}, root)
    warns.extend(entry.pop("warnings", ()))
    declared, deps_problems = dependencies(root, set(files))
    # A folder that declares its packages in pyproject.toml alone is told to add there.
    declared_in = "pyproject.toml's dependencies" if "requirements.txt" not in files and any(d["file"] == "pyproject.toml" for d in declared) else "requirements.txt"
    passes = (
        lambda: deps_imports.undeclared(trees, files, entry["file"], [d["name"] for d in declared],
                                        [d["requirement"] for d in declared], installed, declared_in),
        lambda: websocket_routes(trees), lambda: websocket_broadcasts(trees), lambda: channel_layers(trees),
        lambda: socketio_apps(trees), lambda: mcp_apps(trees), lambda: ui_apps(trees), lambda: memory_broadcasts(trees),
        lambda: trigger_routes(trees), lambda: session_keys(trees, set(files)), lambda: settings_keys(trees),
        lambda: batched_console_spans(trees), lambda: servers_at_import(trees, files, entry["file"]),
        lambda: uncancelled_alarms(trees), lambda: event_streams(trees), lambda: shipped_databases(root, files),
        lambda: created_databases(trees, set(files)), lambda: mongo_urls(trees), lambda: group_accumulators(trees),
        lambda: declared_python(root, set(files)),
    )
    skipped = 0
    for run in passes:
        try:
            warns.extend(run())
        except RecursionError:
            # A module that compiles (a chain of ~900 `+`, which runs) is deeper than a walk of its
            # tree may recurse: that hint is skipped, the report still made (it crashed validate.py).
            skipped += 1
    if skipped:
        warns.append({"file": None, "line": None,
                      "message": f"{skipped} of the checks for warnings were skipped: an expression is nested too deeply for them"})
    return {
        "python": ".".join(map(str, sys.version_info[:3])),
        "checked": len(trees) + len(syntax_errors),
        "syntaxErrors": syntax_errors,
        "entrypoint": entry,
        "problems": problems,
        "warnings": warns,
        "dependencies": {"declared": declared, "problems": deps_problems},
        "envFiles": env_files(trees),
    }


def serve():
    """One JSON request per line on stdin, {"dir", "entrypoint", "files"}; one report (or {"error"}) per line."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            root = request["dir"]
            if not os.path.isdir(root):
                raise ValueError(f"{root} is not a folder")
            # Packages installed since the last request are found (find_spec caches folder listings).
            importlib.invalidate_caches()
            report = check(root, request["entrypoint"], request["files"], request.get("installed"))
        except Exception as err:  # the request is answered either way; the loop goes on
            report = {"error": f"{type(err).__name__}: {err}"}
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
        sys.stdout.flush()
    return 0


def apply_limits(argv):
    """Removes `--max-cpu-seconds N` / `--max-memory-mb N` from argv and applies them (hard limits)."""
    import resource
    out, i = [], 0
    while i < len(argv):
        flag = argv[i]
        if flag in ("--max-cpu-seconds", "--max-memory-mb") and i + 1 < len(argv):
            value = int(argv[i + 1])
            if flag == "--max-cpu-seconds":
                resource.setrlimit(resource.RLIMIT_CPU, (value, value))
            else:
                resource.setrlimit(resource.RLIMIT_AS, (value * 1024 * 1024, value * 1024 * 1024))
            i += 2
            continue
        out.append(flag)
        i += 1
    return out


# Whether this process is in a box of its own (`--box`): only then may the zygote end every other
# process it can signal (`kill(-1)`), which are the box's alone.
BOXED = False


def boxed(argv):
    """Removes `--box JSON` from argv and, when given, first moves this process into a box like a
    runtime's (fp_sandbox/keeper.py `start`: its own mount, PID, IPC, UTS and network namespaces,
    loopback only, a private read-only root without the state directory, the box's cgroup leaves,
    no capabilities) and takes on the box's uid with its rlimits and the function's seccomp filter
    (fp_sandbox/enter.py `become`, as the dependency builder does). The platform's API checks code
    anyone with a token sends (controlplane/service/code-check.ts): nothing of its parse runs with
    the platform's privileges. Returns in the box's pid 2 only; fd 3 is the host's (kept through
    the start, as a build's), closed here."""
    global BOXED
    if "--box" not in argv:
        return argv
    BOXED = True
    at = argv.index("--box")
    cfg = json.loads(argv[at + 1])
    from fp_sandbox.enter import become
    from fp_sandbox.keeper import INNER_UID, start
    box = start(cfg, 3)
    box.settle()
    os.close(3)
    if box.mode == "root":
        uid, gid = int(cfg["uid"]), int(cfg["gid"])
    elif os.getuid() == 0:  # user-namespace mode mapped to a subordinate uid (keeper._unshare_mapped)
        uid, gid = INNER_UID, INNER_UID
    else:
        uid, gid = os.getuid(), os.getgid()
    become(box, uid, gid, "fp-check", cfg.get("rlimits") or {})
    return argv[:at] + argv[at + 2:]


def zygote():
    """`--zygote` (the platform's warmed check, in its box: `boxed`): one request per line on stdin,
    {"dir" (the check's folder as the box sees it), "entrypoint", "files", "cpu", "memoryMb",
    "timeoutMs", "maxBytes"}; for each, a child
    forked from this process (its modules imported once) takes the hard CPU and address-space limits
    and checks; this process enforces the wall-clock deadline (SIGKILL) and the output cap, and
    answers one line: {"report"} or {"error"} (the host answers VALIDATION_UNAVAILABLE). The host
    runs one check at a time on each zygote (controlplane/service/check-zygote.ts).

    One box serves every workspace's checks in turn, as one uid; the box is there for a flaw of
    the parser that runs code of a crafted source (red team round 50). So such code cannot reach the
    next check: a child has /dev/null for stdin and stdout (it answers on its own pipe; the zygote's
    stdout carries the answers, its stdin the next requests), the zygote is not dumpable (no
    /proc/<zygote>/fd or mem for the children's uid), and once a check is answered, and before
    the next one's files exist, every other process of the box goes (a child's leftover would
    read the next check's files, another workspace's, and answer for it)."""
    import resource
    import select
    import signal
    import time
    if BOXED:
        from fp_sandbox import libc
        libc.prctl(libc.PR_SET_DUMPABLE, 0)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(r)
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(null, 1)
                os.close(null)
                resource.setrlimit(resource.RLIMIT_CPU, (request["cpu"], request["cpu"]))
                memory = request["memoryMb"] * 1024 * 1024
                resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
                data = json.dumps(check(request["dir"], request["entrypoint"], request["files"], None)).encode()
                while data:
                    data = data[os.write(w, data):]
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        deadline = time.monotonic() + request["timeoutMs"] / 1000
        out, size, error = [], 0, None
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                error = "timed out"
                break
            chunk = os.read(r, 65536)
            if not chunk:
                break
            size += len(chunk)
            if size > request["maxBytes"]:
                error = "printed more than its output cap"
                break
            out.append(chunk)
        if error is not None:
            os.kill(pid, signal.SIGKILL)
        os.close(r)
        status = os.waitpid(pid, 0)[1]
        if BOXED:
            try:
                os.kill(-1, signal.SIGKILL)  # the box's other processes: not init, not this one
            except ProcessLookupError:
                pass
        if error is None and status != 0:
            error = f"ended with {os.waitstatus_to_exitcode(status)}"
        answer = {"error": error} if error is not None else {"report": json.loads(b"".join(out))}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


def main(argv):
    argv = apply_limits(boxed(argv))
    if argv == ["--serve"]:
        return serve()
    if argv == ["--zygote"]:
        return zygote()
    installed = None
    if "--installed" in argv:  # --installed NAME[:MODULE…],… (the dependency build's lock; may be empty)
        at = argv.index("--installed")
        installed = [n for n in (argv[at + 1] if at + 1 < len(argv) else "").split(",") if n]
        argv = argv[:at] + argv[at + 2:]
    args = [a for a in argv if a != "--files-from"]
    from_stdin = len(args) != len(argv)
    if from_stdin and "-" in args:
        args.remove("-")
    if len(args) != 2:
        print("usage: validate.py <dir> <entrypoint> [--files-from -] | validate.py --serve", file=sys.stderr)
        return 2
    root, entrypoint = args
    if not os.path.isdir(root):
        print(f"validate.py: {root} is not a folder", file=sys.stderr)
        return 2
    files = [line.strip() for line in sys.stdin if line.strip()] if from_stdin else walk(root)
    json.dump(check(root, entrypoint, files, installed), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
