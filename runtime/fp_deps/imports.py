"""`validate`'s import check (docs/dependencies.md, "validate"): the third-party imports of the
entrypoint's module and of the bundle's modules it imports (transitively) must be provided by
the runtime's declared packages (provided.py: not whatever this interpreter can import) or by a
declared requirement; anything else is a warning.

Which modules a declared distribution provides: its `top_level.txt` or RECORD when it is
installed here, else a table of well-known names that differ (PyYAML → yaml, Pillow → PIL, …),
else the normalized name with `-` as `_` (also without a `python-` / `py` prefix or `-python` suffix). Imports inside a `try` block are optional and skipped;
relative imports and the bundle's own modules are followed, never reported.
"""
import ast
import sys
import unicodedata

from . import provided as runtime_provided, requirements

# Distribution (normalized) -> top-level modules, where they differ from the name.
KNOWN = {
    "pyyaml": ["yaml"], "pillow": ["PIL"], "beautifulsoup4": ["bs4"], "scikit-learn": ["sklearn"],
    "scikit-image": ["skimage"], "python-dateutil": ["dateutil"], "opencv-python": ["cv2"],
    "opencv-python-headless": ["cv2"], "protobuf": ["google"], "attrs": ["attr", "attrs"], "pyjwt": ["jwt"],
    "psycopg2-binary": ["psycopg2"], "psycopg-binary": ["psycopg_binary"], "python-dotenv": ["dotenv"],
    "python-multipart": ["multipart", "python_multipart"], "pymongo": ["pymongo", "bson", "gridfs"],
    "pycryptodome": ["Crypto"], "pyopenssl": ["OpenSSL"], "mysqlclient": ["MySQLdb"], "dnspython": ["dns"],
    "websocket-client": ["websocket"], "email-validator": ["email_validator"], "ruamel-yaml": ["ruamel"],
    "setuptools": ["setuptools", "pkg_resources"], "pyserial": ["serial"], "python-jose": ["jose"],
    "google-cloud-storage": ["google"], "google-api-python-client": ["googleapiclient"], "msgpack-python": ["msgpack"],
    "typing-extensions": ["typing_extensions"], "importlib-metadata": ["importlib_metadata"], "pyzmq": ["zmq"],
    "faiss-cpu": ["faiss"], "tensorflow-cpu": ["tensorflow"], "torch": ["torch"], "docx2txt": ["docx2txt"],
    "python-docx": ["docx"], "python-pptx": ["pptx"], "pymupdf": ["fitz"], "pypdf2": ["PyPDF2"],
    # Django's ecosystem: neither the name nor its first word (apps round 6: django-ninja).
    "django-ninja": ["ninja"], "djangorestframework": ["rest_framework"], "django-cors-headers": ["corsheaders"],
    "django-filter": ["django_filters"], "django-debug-toolbar": ["debug_toolbar"],
    "django-storages": ["storages"], "django-crispy-forms": ["crispy_forms"], "django-allauth": ["allauth"],
    "djangorestframework-simplejwt": ["rest_framework_simplejwt"], "drf-spectacular": ["drf_spectacular"],
    # FastAPI's ecosystem and gRPC (apps round 12: `from fastapi_cache import FastAPICache` with
    # fastapi-cache2 declared was warned about as undeclared).
    "fastapi-cache2": ["fastapi_cache"], "grpcio": ["grpc"], "grpcio-tools": ["grpc_tools"],
    "grpcio-health-checking": ["grpc_health"], "grpcio-reflection": ["grpc_reflection"],
}
# Module -> the requirement to advise, where KNOWN read backwards would advise wrong: psycopg's C
# build is the `binary` extra (psycopg-binary ships only `psycopg_binary`, not `psycopg`: a
# deploy following that advice failed with ModuleNotFoundError, apps round 4), msgpack-python is
# msgpack's abandoned old name, and `google` is a namespace many distributions share (None: no
# distribution is named).
ADVICE = {"psycopg": "psycopg[binary]", "msgpack": "msgpack", "google": None}
_SUGGEST = {**{module: dist for dist, modules in KNOWN.items() for module in modules}, **ADVICE}

# Names whose use needs a package the code never imports itself: FastAPI parses forms with
# python-multipart, and without it the app fails at import ('Form data requires
# "python-multipart" to be installed'), a FUNCTION_INIT_FAILED found only at the first call.
# (module, name) -> the module it needs.
IMPLIED = {
    (module, name): "python_multipart"
    for module in ("fastapi", "fastapi.param_functions", "fastapi.params", "fastapi.datastructures", "fastapi.security")
    for name in ("Form", "File", "UploadFile", "OAuth2PasswordRequestForm", "OAuth2PasswordRequestFormStrict")
}
# pydantic's EmailStr and NameEmail need email-validator: without it the app fails at import
# ("email-validator is not installed"), DEPLOY_START_FAILED at deploy (apps round 11).
IMPLIED.update({("pydantic", name): "email_validator" for name in ("EmailStr", "NameEmail")})
IMPLIED.update({("pydantic.networks", name): "email_validator" for name in ("EmailStr", "NameEmail")})
_IMPLIED_WHY = {"python_multipart": "FastAPI's form parsing (Form, File, UploadFile, OAuth2PasswordRequestForm)",
                "email_validator": "pydantic's EmailStr or NameEmail"}


# What a requirement's extras bring, for distributions not installed here (installed ones are read
# from their metadata): `fastapi[standard]`, the install FastAPI's docs give, brings uvicorn, and
# `import uvicorn` (for `uvicorn.run` under `__main__`) was warned about as undeclared (apps round 11).
# (normalized name, extra) -> the requirements it adds.
EXTRAS = {
    ("fastapi", "standard"): ["fastapi-cli[standard]", "httpx", "jinja2", "python-multipart", "email-validator",
                              "uvicorn[standard]", "pydantic-settings", "pydantic-extra-types"],
    ("fastapi", "all"): ["fastapi-cli[standard]", "httpx", "jinja2", "python-multipart", "itsdangerous", "pyyaml",
                         "ujson", "orjson", "email-validator", "uvicorn[standard]", "pydantic-settings", "pydantic-extra-types"],
    ("uvicorn", "standard"): ["httptools", "python-dotenv", "pyyaml", "uvloop", "watchfiles", "websockets"],
    ("pydantic", "email"): ["email-validator"], ("pydantic", "timezone"): ["tzdata"],
    ("sqlalchemy", "asyncio"): ["greenlet"], ("passlib", "bcrypt"): ["bcrypt"], ("pyjwt", "crypto"): ["cryptography"],
    ("python-jose", "cryptography"): ["cryptography"], ("httpx", "http2"): ["h2"], ("httpx", "socks"): ["socksio"],
    ("httpx", "brotli"): ["brotli"], ("psycopg", "binary"): ["psycopg-binary"], ("celery", "redis"): ["redis"],
}


def extra_dists(requirement: str, depth: int = 0) -> set:
    """The distributions a declared requirement's extras add (`fastapi[standard]` → uvicorn, …),
    theirs included (uvicorn[standard] → uvloop, …), three levels at most: from the installed
    distribution's metadata, else from EXTRAS. Without extras, or without pip's parser: none."""
    Requirement, _ = requirements._packaging()
    if Requirement is None or depth > 2:
        return set()
    try:
        req = Requirement(requirement.split(" --hash")[0].strip())
    except Exception:  # noqa: BLE001 - checked elsewhere; a requirement it cannot read adds nothing
        return set()
    import importlib.metadata
    name, found = requirements.normalize(req.name), set()
    for extra in sorted(req.extras):
        extra = requirements.normalize(extra)
        try:
            listed = [r for r in importlib.metadata.distribution(name).requires or []
                      if "extra" in r.split(";", 1)[-1] and _marked_for(Requirement, r, extra)]
        except importlib.metadata.PackageNotFoundError:
            listed = EXTRAS.get((name, extra), [])
        for text in listed:
            try:
                sub = Requirement(text)
            except Exception:  # noqa: BLE001
                continue
            found.add(requirements.normalize(sub.name))
            found |= extra_dists(str(sub).split(";")[0], depth + 1)
    return found


def _marked_for(Requirement, text: str, extra: str) -> bool:
    """Whether a metadata requirement applies with `extra` asked (its marker, evaluated here)."""
    try:
        marker = Requirement(text).marker
        return marker is not None and marker.evaluate({"extra": extra})
    except Exception:  # noqa: BLE001
        return False


def modules_of(dist: str) -> set:
    """Top-level module names a distribution provides."""
    import importlib.metadata  # ~30 ms: only for a folder that declares requirements (bench/README.md, section 9)
    try:
        found = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        found = None
    names = provided_by(found) if found is not None else set()
    if names:
        return names
    name = requirements.normalize(dist)
    return set(KNOWN.get(name, [])) or guessed_modules(name)


def provided_by(found) -> set:
    """The top-level modules an installed distribution (importlib.metadata) ships: its
    `top_level.txt`, else the first parts of the paths its RECORD lists."""
    text = found.read_text("top_level.txt")
    if text:
        return {line.strip() for line in text.splitlines() if line.strip()}
    names = set()
    for path in found.files or []:
        head = path.parts[0] if path.parts else ""
        if head.endswith((".dist-info", ".data")) or head in ("..", "__pycache__") or not head:
            continue
        names.add(head[:-3] if head.endswith(".py") else head.split(".")[0])
    return names


def site_modules(site: str) -> dict:
    """Normalized distribution name -> the sorted top-level modules it ships, for every
    distribution installed in `site` (a dependency build's site directory: `deploy` checks its
    imports against these, the declared packages' own dependencies included, instead of a guess
    from their names)."""
    import importlib.metadata
    out = {}
    for found in importlib.metadata.distributions(path=[site]):
        name = found.metadata["Name"] if found.metadata is not None else None
        if name:
            out[requirements.normalize(name)] = sorted(m for m in provided_by(found) if m.isidentifier())[:64]
    return out


def guessed_modules(name: str) -> set:
    """The modules a distribution that is not installed here probably provides: its name with `_`,
    without the `python-` / `py` prefix or `-python` suffix many carry (python-slugify → slugify,
    python-magic → magic, pyserial → serial), and its first word (strawberry-graphql → strawberry,
    google-cloud-storage → google; flask-sqlalchemy → flask, which it brings), and without a
    version number at its end, which names a fork or a major version, not the module
    (fastapi-cache2 → fastapi_cache, apps round 12). A wrong guess only hides a warning; a missing
    one warned about a module the requirement does provide."""
    stems = {name, name.rstrip("0123456789").rstrip("-") or name}
    for prefix in ("python-", "py-", "py"):
        if name.startswith(prefix) and len(name) > len(prefix):
            stems.add(name[len(prefix):])
    if name.endswith("-python") and len(name) > len("-python"):
        stems.add(name[: -len("-python")])
    for stem in list(stems):
        if "-" in stem:
            stems.add(stem.split("-")[0])
    return {stem.replace("-", "_") for stem in stems}


def local_modules(files) -> dict:
    """Module name -> file for the bundle's .py files (`pkg/__init__.py` is `pkg`). In a src layout
    (`src/` without `__init__.py`: the runtime imports from it, fp_runtime/specialize.py) a module
    under src is also its name without `src.`."""
    out = {}
    src_layout = "src/__init__.py" not in files
    for rel in files:
        if not rel.endswith(".py"):
            continue
        parts = rel[:-3].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            out[".".join(parts)] = rel
            if src_layout and parts[0] == "src" and len(parts) > 1:
                out[".".join(parts[1:])] = rel
    return out


def vendored_tops(files) -> set:
    """Top-level names importable from a folder of the bundle the code may put on sys.path itself
    (`pip install -t vendor …` and `sys.path.insert(0, "vendor")`, a common Lambda packaging): a
    package's root (`vendor/orjson/__init__.py`: `orjson`) or a module (`vendor/six.py`, a compiled
    `vendor/_cffi_backend.cpython-311-x86_64-linux-gnu.so`) in a folder that is not a package itself.
    validate warned that such an import was undeclared, and the function worked (apps round of
    2026-12-05)."""
    packages = {rel.rpartition("/")[0] for rel in files if rel.endswith("/__init__.py")}
    out = set()
    for rel in files:
        folder, _, name = rel.rpartition("/")
        if not folder:
            continue  # the folder's root: local modules, known already
        if name == "__init__.py":
            parent = folder.rpartition("/")[0]
            if parent and parent not in packages:
                out.add(folder.rpartition("/")[2])  # a package's root under a plain folder
        elif folder not in packages and name.endswith((".py", ".so")):
            out.add(name.split(".")[0])  # a module in a plain folder
    return out


def _is_main_guard(test) -> bool:
    """`__name__ == "__main__"`, either way round."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(x, ast.Name) and x.id == "__name__" for x in sides) and \
        any(isinstance(x, ast.Constant) and x.value == "__main__" for x in sides)


def _imports(tree, package: str):
    """(absolute module name, line, optional, implied) for every import of a module tree; `implied`:
    a module the code needs without importing it (IMPLIED)."""
    guarded, main_only = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            guarded.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    # `if __name__ == "__main__":` at module level runs when the file is a script (`python main.py`
    # → `uvicorn.run(app)`), never when the platform imports it: its imports are not the app's
    # (apps round 11: `import uvicorn` there was warned about as undeclared).
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.If) and _is_main_guard(node.test):
            main_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in main_only:
            continue
        optional = id(node) in guarded
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, optional, False
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                base = node.module
            else:
                up = package.split(".") if package else []
                up = up[:len(up) - (node.level - 1)] if node.level > 1 else up
                base = ".".join(p for p in up + ([node.module] if node.module else []) if p)
            yield base, node.lineno, optional, False
            for alias in node.names:  # `from pkg import sub` may name a submodule
                yield f"{base}.{alias.name}" if base else alias.name, node.lineno, True, False
                implied = IMPLIED.get((base, alias.name))
                if implied is not None:
                    yield implied, node.lineno, optional, True


def reached(trees: dict, files, entry_file) -> list:
    """The files of `trees` that `entry_file` imports, itself and transitively (every one when it is None)."""
    local = local_modules(files)
    by_file = {rel: mod for mod, rel in local.items()}
    todo = [entry_file] if entry_file in trees else list(trees)
    seen = dict.fromkeys(todo)  # ordered, as they are reached
    while todo:
        rel = todo.pop()
        module = by_file.get(rel, "")
        package = module if rel.endswith("__init__.py") else module.rpartition(".")[0]
        for name, _line, _optional, _implied in _imports(trees[rel], package):
            target = local.get(name)
            if target is not None and target in trees and target not in seen:
                seen[target] = None
                todo.append(target)
    return list(seen)


def third_party_imports(trees: dict, files, entry_file):
    """[(top-level name, file, line, implied)] reached from `entry_file` (every module when it is None)."""
    local = local_modules(files)
    by_file = {rel: mod for mod, rel in local.items()}
    tops = {m.split(".")[0] for m in local}
    found = []
    for rel in reached(trees, files, entry_file):
        module = by_file.get(rel, "")
        package = module if rel.endswith("__init__.py") else module.rpartition(".")[0]
        for name, line, optional, implied in _imports(trees[rel], package):
            top = name.split(".")[0]
            if name not in local and not optional and top and top not in tops:
                found.append((top, rel, line, implied))
    return found


def undeclared(trees: dict, files, entry_file, declared_names, declared_requirements=(), installed=None, declared_in="requirements.txt"):
    """Warnings for third-party imports that neither a declared requirement (its extras included)
    nor the runtime provides. `installed`: the distributions the dependency build's lock installed
    (every one, the dependencies of the declared ones included: `deploy` after its build), which
    then decide instead of a hedge; None before a build (dx round 4: fastapi-limiter brings
    pyrate_limiter, and `deploy` said `pyrate_limiter` was undeclared). Each warning names its
    `module`, so that a check before the build can be held until it is made again after it.
    An `installed` entry `name:module:module…` names the modules the build found the distribution
    ships (its site's top_level.txt or RECORD), which are then taken as they are. `declared_in`: where
    the folder declares its packages, which the warnings name (a pyproject.toml project was told to
    add to a requirements.txt it did not have: new-user round 10)."""
    provided = set()
    for dist in list(declared_names) + list(installed or []):
        name, shipped, modules = dist.partition(":")
        provided |= {m for m in modules.split(":") if m} if shipped else modules_of(name)
    for requirement in declared_requirements:
        if "[" in requirement:
            for dist in extra_dists(requirement):
                provided |= modules_of(dist)
    stdlib = getattr(sys, "stdlib_module_names", set())
    # A local module whose file name is decomposed Unicode (NFD: `donne\u0301es.py`, as macOS may
    # write it): Python names the import in NFKC and Linux compares file names byte for byte, so it
    # imports on the Mac and is not found on the platform (newcomer round 5).
    composed = {}
    for module, rel in local_modules(files).items():
        head = module.split(".")[0]
        if unicodedata.normalize("NFKC", head) != head:
            composed.setdefault(unicodedata.normalize("NFKC", head), rel)
    warnings, reported = [], set()
    vendored = vendored_tops(files)
    for top, rel, line, implied in third_party_imports(trees, files, entry_file):
        if top in stdlib or top == "__future__" or top in provided or (top, rel) in reported or top in vendored:
            continue
        if top in composed:
            reported.add((top, rel))
            warnings.append({"file": rel, "line": line,
                             "message": f"imports {top!r}, but the folder's {composed[top]} is named in decomposed Unicode "
                                        "(NFD, as macOS may write names): Python on the platform looks for the composed "
                                        "name and will not find it; rename the file, typing its name again"})
            continue
        if top in runtime_provided.listed():
            continue  # the runtime's declared packages have it, wherever the platform is installed
        reported.add((top, rel))
        why = _IMPLIED_WHY.get(top) if implied else None
        what = f"uses {why}, which needs {top!r}" if why is not None else f"imports {top!r}"
        # A distribution is named only when known to provide the module: a guess from the module's
        # name can be another project on PyPI (`strawberry` is not strawberry-graphql).
        known = _SUGGEST.get(top)
        add = f"add {known!r} to {declared_in}" if known is not None else f"add the package that provides it to {declared_in}"
        # Declared packages not installed here may bring it as one of their own dependencies
        # (flask-sqlalchemy brings sqlalchemy): that cannot be told without installing them.
        if installed is not None:
            warnings.append({"file": rel, "line": line, "module": top,
                             "message": f"{what}, a third-party module that neither the runtime nor any of the "
                                        f"{len(installed)} packages the dependency build installed provides: {add}"})
            continue
        brought = (" (checked against the declared names only, before their own dependencies are resolved: if one of "
                   "them brings it, nothing is missing; deploy checks again against what its build installs)") if declared_names else ""
        warnings.append({"file": rel, "line": line, "module": top,
                         "message": f"{what}, a third-party module that the runtime does not provide and no declared "
                                    f"requirement names: {add}{brought}"})
    return warnings
