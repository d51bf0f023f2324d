"""A function's declared dependencies: `requirements.txt` and `pyproject.toml` `[project]
dependencies` (or, without them, Poetry's `[tool.poetry.dependencies]`), at the root of its folder
(docs/dependencies.md, "Declaring").

Only requirement specifiers are accepted (`name[extras] <specifier> ; marker`), in requirements.txt
each optionally followed by `--hash=sha256:…` options (pip-compile's output); a pyproject.toml
string is a PEP 508 requirement and nothing else. A requirements file may name other files of the
same folder with `-r FILE` (more requirements) and `-c FILE` (constraints: `name <specifier>`
lines), as pip reads them, relative to the file that names them; a path that leaves the folder,
is absolute, a URL or not a file of the folder is refused (`include_path`: the files are read
through `read`, never from the disk by a name the user wrote; ADR 0106). Refused with the line: other
global options (`-e`, `--index-url`, …: the platform chooses the index), URLs and direct references
(`name @ https://…`, `git+…`), local paths, and control characters (a line break inside one
requirement is a second line of pip input). What the builder hands pip is rebuilt from the parsed
requirement and the checked hashes (`check`), never the declared text. The control plane makes the
same first check (controlplane/deps/requirements.ts) so an upload fails at once; the builder and
`validate` use this module.
"""
import functools
import re

FILES = ("requirements.txt", "pyproject.toml")
NAME = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
# The value of a `--hash` option, as pip checks it (the algorithms pip allows, hex of their length).
HASH_VALUE = re.compile(r"^(?:sha256:[0-9a-fA-F]{64}|sha384:[0-9a-fA-F]{96}|sha512:[0-9a-fA-F]{128})$")
# C0 and C1 controls but tab, and the Unicode line and paragraph separators: every character
# str.splitlines (pip's reading of its input) ends a line at, and every other control. One such
# character inside a requirement made the rest of it a line of pip options: `--hash=\n-r/proc/self/cmdline`
# printed the index's credentials into the build log (red team of 2026-12-05, second round).
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


class BadRequirement(Exception):
    """A declared requirement the platform refuses: `file`, `line` (1-based or None), message."""

    def __init__(self, file: str, line, message: str):
        super().__init__(f"{file}{'' if line is None else f':{line}'}: {message}")
        self.file = file
        self.line = line
        self.reason = message


def normalize(name: str) -> str:
    """PEP 503 normalized distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def _packaging():
    """pip's vendored (Requirement, InvalidRequirement), or (None, ValueError) without pip. Imported
    on the first requirement only: it costs ~45 ms, most of `validate`'s start, and a folder that
    declares nothing never needs it (bench/README.md, section 9)."""
    try:  # pip vendors packaging; a runtime without pip (validate only) falls back to a name regex
        from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
    except ImportError:  # pragma: no cover - pip ships with every venv the platform makes
        return None, ValueError
    return Requirement, InvalidRequirement


def check(text: str, file: str, line, hashes: bool = True):
    """The requirement `text` as (name, line for pip), or BadRequirement. `hashes`: `--hash`
    options may follow it (requirements.txt; a pyproject.toml string is PEP 508 only). The line for
    pip is the parsed requirement written out again, plus the checked hashes: nothing of the
    declared text reaches pip's input unparsed."""
    bad = CONTROL.search(text)
    if bad is not None:
        raise BadRequirement(file, line, f"{text.strip()!r} holds a control character ({bad.group(0)!r}): one requirement, on one line")
    bare, digests = _split_options(text, file, line, hashes)
    if "://" in bare or bare.startswith((".", "/", "~")) or re.match(r"^[A-Za-z0-9._-]+\s*@", bare):
        raise BadRequirement(file, line, f"{bare!r}: URLs, direct references and paths are not allowed; name a package from the index")
    Requirement, InvalidRequirement = _packaging()
    if Requirement is None:  # validate without pip: the name is all it needs
        match = NAME.match(bare)
        if match is None:
            raise BadRequirement(file, line, f"{bare!r} is not a valid requirement")
        return normalize(match.group(1)), " ".join([bare, *(f"--hash={d}" for d in digests)])
    try:
        req = Requirement(bare)
    except InvalidRequirement as err:
        raise BadRequirement(file, line, f"{bare!r} is not a valid requirement: {err}") from None
    if req.url:
        raise BadRequirement(file, line, f"{bare!r}: URLs, direct references and paths are not allowed; name a package from the index")
    written = str(req)
    # pip reads a line of its input as the requirement up to the first word starting with `-` (the
    # options after it), strips ` #` comments, joins a line ending in `\` with the next and expands
    # `${VAR}`: a requirement written out again must hold none of those. Unreachable from a valid
    # requirement without the controls refused above (a marker's quoted value is the only free
    # text, and a ` -` in it is an option word already): kept so the rule does not rest on that.
    if any(w.startswith("-") for w in written.split()) or " #" in written or "${" in written or written.endswith("\\"):
        raise BadRequirement(file, line, f"{bare!r} cannot be handed to pip as one requirement")
    return normalize(req.name), " ".join([written, *(f"--hash={d}" for d in digests)])


# `-e .`, the project installed editable: not needed here (controlplane/deps/requirements.ts says the same).
_EDITABLE_ADVICE = ("an editable install (-e) is not needed: the folder is uploaded and imported as it is (a src layout "
                    "from src/, as `uvicorn --app-dir src` does); remove the line, and list what the project needs in "
                    "requirements.txt or pyproject.toml's [project] dependencies")


def _split_options(text: str, file: str, line, hashes: bool):
    """(requirement, [hash values]) of a requirement line. Words are split as pip splits them: the
    requirement ends at the first word starting with `-`, and every word after it must be a
    `--hash` option (`--hash=v` or `--hash v`) with a valid value; any other option is refused."""
    words = text.split()
    at = next((i for i, w in enumerate(words) if w.startswith("-")), len(words))
    bare, rest, digests = " ".join(words[:at]), words[at:], []
    while rest:
        option = rest.pop(0)
        if hashes and option == "--hash" and rest:
            value = rest.pop(0)
        elif hashes and option.startswith("--hash="):
            value = option[len("--hash="):]
        elif not bare and (option in ("-e", "--editable") or option.startswith(("-e=", "--editable="))):
            raise BadRequirement(file, line, _EDITABLE_ADVICE)
        else:
            where = "only `--hash` options may follow a requirement in requirements.txt" if hashes else "a pyproject.toml requirement takes no options"
            raise BadRequirement(file, line, f"options are not allowed ({option.split('=')[0]}): {where}; the platform chooses the index and installs wheels by name")
        if not HASH_VALUE.match(value):
            raise BadRequirement(file, line, f"{value!r} is not a hash pip checks (--hash=sha256:<64 hex digits>)")
        digests.append(value.lower())
    if not bare:
        raise BadRequirement(file, line, "hash options without a requirement" if digests else "an empty requirement")
    return bare, digests


def _logical_lines(source: str):
    """(first line number, text) of each non-empty logical line: comments, blank lines and `\\`
    continuations handled like pip does."""
    pending, first = "", None
    for number, raw in enumerate(source.splitlines(), 1):
        text = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if text.endswith("\\"):
            pending += text[:-1] + " "
            first = first or number
            continue
        text = (pending + text).strip()
        at = first or number
        pending, first = "", None
        if text:
            yield at, text


# `-r FILE`, `--requirement FILE`, `--requirement=FILE` (and -c / --constraint): the forms pip's
# option parser takes on a line of its own. The path is one word.
INCLUDE = re.compile(r"^(?:(?:(--requirement)|(--constraint))(?:[ \t]+|=)|(?:(-r)|(-c))[ \t]*)(\S+)$")
# Files one folder's requirements may read, all includes together: a fan of -r lines is bounded.
MAX_INCLUDED_FILES = 32


def include_path(including: str, target: str, file: str, line) -> str:
    """The folder-relative path `-r/-c target` names from the file `including` (pip resolves it
    against that file's folder), or BadRequirement: absolute paths, URLs, `~`, `${VAR}`,
    backslashes and anything that leaves the folder are refused (docs/dependencies.md)."""
    import posixpath
    if CONTROL.search(target) or "\\" in target or "://" in target or target.startswith(("/", "~")) or "$" in target or ":" in target:
        raise BadRequirement(file, line, f"{target!r}: -r and -c name a file of the function's folder by a relative path")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(including), target))
    if joined in (".", "..") or joined.startswith("../") or joined.startswith("/"):
        raise BadRequirement(file, line, f"{target!r} is outside the function's folder: -r and -c name files of the folder only")
    return joined


def _included(read, file: str, line, target: str, state, kind: str):
    """(path, text) of the file `-r/-c target` on `file`'s `line` names, or BadRequirement: outside
    the folder, not one of its files, a cycle, or past MAX_INCLUDED_FILES. Text None: that file
    was read for this kind (`r`, `c`) already, so it is not read again."""
    path = include_path(file, target, file, line)
    if path in state["stack"]:
        raise BadRequirement(file, line, f"{path} includes itself (through {' -> '.join(state['stack'])})")
    state["files"].add(path)
    if len(state["files"]) > MAX_INCLUDED_FILES:
        raise BadRequirement(file, line, f"more than {MAX_INCLUDED_FILES} requirement files included")
    if (kind, path) in state["read"]:
        return path, None
    text = read(path)
    if text is None:
        raise BadRequirement(file, line, f"{path} is not a file of the function's folder")
    return path, text


def parse_requirements_txt(source: str, file: str = "requirements.txt", read=None, constraints=None, _state=None):
    """[(name, requirement text, line)] of a requirements file; comments, blank lines and `\\`
    continuations handled like pip does. With `read(path)` (a folder's file's text, or None), `-r`
    files are read in place (their requirements carry their own file and line: 4-tuples then,
    (name, requirement, line, file)) and `-c` files' lines are appended to `constraints` (a list
    of (name, constraint text, file, line)); without it `-r`/`-c` are refused like other options."""
    state = _state if _state is not None else {"stack": [file], "files": {file}, "read": set()}
    # Each file is read once per kind: one named many times (a.txt naming b.txt 1000 times, b.txt
    # naming c.txt 1000 times, …) was read again each time, exponentially; its lines are in
    # already, and a cycle through it would have been found the first time.
    if ("r", file) in state["read"]:
        return []
    state["read"].add(("r", file))
    out = []
    for at, text in _logical_lines(source):
        include = INCLUDE.match(text) if read is not None else None
        if include is None:
            name, req = check(text, file, at)
            out.append((name, req, at) if read is None else (name, req, at, file))
            continue
        kind = "r" if include.group(1) or include.group(3) else "c"
        path, text_of = _included(read, file, at, include.group(5), state, kind)
        if text_of is None:
            continue
        state["stack"].append(path)
        try:
            if kind == "r":
                out += parse_requirements_txt(text_of, path, read, constraints, state)
            else:
                found = parse_constraints_txt(text_of, path, read, state)
                if constraints is not None:
                    constraints += found
        finally:
            state["stack"].pop()
    return out


def parse_constraints_txt(source: str, file: str, read, state):
    """[(name, constraint text, file, line)] of a constraints file (`-c`): requirements without
    extras or hashes, as pip takes constraints; `-c` lines in it are followed, `-r` refused."""
    if ("c", file) in state["read"]:
        return []
    state["read"].add(("c", file))
    out = []
    for at, text in _logical_lines(source):
        include = INCLUDE.match(text)
        if include is not None and (include.group(2) or include.group(4)):
            path, text_of = _included(read, file, at, include.group(5), state, "c")
            if text_of is None:
                continue
            state["stack"].append(path)
            try:
                out += parse_constraints_txt(text_of, path, read, state)
            finally:
                state["stack"].pop()
            continue
        if include is not None:
            raise BadRequirement(file, at, "-r in a constraints file: a constraints file holds constraints only")
        name, req = check(text, file, at, hashes=False)
        if "[" in req.split(";")[0]:
            raise BadRequirement(file, at, f"{text!r}: a constraint takes no extras")
        out.append((name, req, file, at))
    return out


def parse_pyproject(source: str, file: str = "pyproject.toml"):
    """[(name, requirement text, None)] of `[project] dependencies`, or else of
    `[tool.poetry.dependencies]` (Poetry's constraints as PEP 440 specifiers: `poetry_requirement`);
    none when neither is there."""
    import tomllib
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as err:
        raise BadRequirement(file, None, f"not valid TOML: {err}") from None
    except RecursionError:  # tomllib recurses per nested array or table: `a = [[[[…` crashed validate.py
        raise BadRequirement(file, None, "not valid TOML: nested too deeply") from None
    project = data.get("project") or {}
    if "dependencies" in project:
        deps = project.get("dependencies") or []
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise BadRequirement(file, None, "[project] dependencies must be a list of strings")
        return [(*check(d, file, None, hashes=False), None) for d in deps]
    poetry = ((data.get("tool") or {}).get("poetry") or {}).get("dependencies") or {}
    if not isinstance(poetry, dict):
        raise BadRequirement(file, None, "[tool.poetry.dependencies] must be a table")
    out = []
    for name, spec in poetry.items():
        if normalize(name) == "python":
            continue
        text = poetry_requirement(name, spec, file)
        if text is not None:
            out.append((*check(text, file, None, hashes=False), None))
    return out


def _caret(version: str) -> str:
    """Poetry's `^1.2.3` (>=1.2.3,<2.0.0: the first non-zero part may not change)."""
    parts = [int(p) for p in version.split(".")]
    upper = next((i for i, p in enumerate(parts) if p != 0), len(parts) - 1)
    bound = parts[:upper] + [parts[upper] + 1]
    return f">={version},<{'.'.join(map(str, bound))}"


def _tilde(version: str) -> str:
    """Poetry's `~1.2.3` (>=1.2.3,<1.3.0) and `~1` (>=1,<2)."""
    parts = [int(p) for p in version.split(".")]
    at = 0 if len(parts) == 1 else 1
    bound = parts[:at] + [parts[at] + 1]
    return f">={version},<{'.'.join(map(str, bound))}"


VERSION = re.compile(r"^\d+(\.\d+){0,3}$")


def poetry_constraint(constraint: str, name: str, file: str) -> str:
    """A Poetry version constraint as a PEP 440 specifier ("" for any version)."""
    out = []
    for part in (p.strip() for p in constraint.split(",")):
        if part in ("", "*"):
            continue
        if "||" in part:
            raise BadRequirement(file, None, f"{name} = {constraint!r}: alternatives (||) cannot be written as one requirement; pin one range")
        if part.startswith("^") and VERSION.match(part[1:].strip()):
            out.append(_caret(part[1:].strip()))
        elif part.startswith("~") and not part.startswith("~=") and VERSION.match(part[1:].strip()):
            out.append(_tilde(part[1:].strip()))
        elif VERSION.match(part):
            out.append(f"=={part}")
        elif re.match(r"^\d+(\.\d+)*\.\*$", part):
            out.append(f"=={part}")
        else:
            out.append(part.replace(" ", ""))
    return ",".join(out)


def poetry_requirement(name: str, spec, file: str):
    """One `[tool.poetry.dependencies]` entry as a requirement text, None for an optional one.
    Git, path and URL sources are refused as they are in requirements.txt."""
    if isinstance(spec, list):
        raise BadRequirement(file, None, f"{name}: several constraints by marker are not supported; give one version constraint")
    if isinstance(spec, str):
        spec = {"version": spec}
    if not isinstance(spec, dict):
        raise BadRequirement(file, None, f"{name}: a version string or a table")
    for source in ("git", "path", "url", "file"):
        if source in spec:
            raise BadRequirement(file, None, f"{name}: {source} dependencies are not allowed; name a package from the index")
    if spec.get("optional") is True:
        return None
    extras = spec.get("extras") or []
    text = name + (f"[{','.join(extras)}]" if extras else "") + poetry_constraint(str(spec.get("version", "*")), name, file)
    markers = spec.get("markers")
    python = spec.get("python")
    if python:
        python_marker = " and ".join(f"python_version {op}" for op in _python_markers(poetry_constraint(str(python), name, file)))
        markers = f"({markers}) and {python_marker}" if markers else python_marker
    return f"{text} ; {markers}" if markers else text


def _python_markers(specifier: str):
    """`>=3.8,<4.0` → ['>= "3.8"', '< "4.0"'] for python_version markers."""
    for item in filter(None, specifier.split(",")):
        op = re.match(r"^(===|==|!=|<=|>=|~=|<|>)", item)
        if op is None:
            continue
        yield f'{op.group(1)} "{item[len(op.group(1)):]}"'


def declared_with_constraints(read):
    """(requirements, constraints) of a folder, each a list of (name, text, file, line); `read(name)`
    returns a folder file's text or None when absent. requirements.txt's `-r` files are read in
    place and its `-c` files give the constraints."""
    out, constraints = [], []
    text = read("requirements.txt")
    if text is not None:
        out += [(n, r, f, line) for n, r, line, f in parse_requirements_txt(text, "requirements.txt", read, constraints)]
    text = read("pyproject.toml")
    if text is not None:
        out += [(n, r, "pyproject.toml", line) for n, r, line in parse_pyproject(text)]
    return out, constraints


def declared(read):
    """Every requirement of a folder; `read(name)` returns a file's text or None when absent."""
    return declared_with_constraints(read)[0]
