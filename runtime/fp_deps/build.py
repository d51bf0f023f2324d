"""One dependency build, run by runtime/deps_build.py inside the builder's box as an unprivileged
uid (docs/dependencies.md, "The build"):

  1. read the declared requirements from <work>/input (requirements.py; `-r`/`-c` files of the
     function's folder are there too, under their folder paths) and write pip's input,
     requirements.in and constraints.in, from them as parsed and written out again, never their
     declared text;
  2. resolve them with pip against the platform's index options, wheels only unless the platform
     allows sdists, constrained to the runtime's own pins (runtime/requirements.txt), and turn
     pip's report into a lock: `name==version --hash=sha256:…` per package, sorted, with the
     interpreter in its header; the runtime's own distributions are left out (never shadowed);
  3. tell the host the lock (fd 3) and wait for its answer on stdin: `skip` when a site for the
     same lock exists already (shared), `install` otherwise;
  4. install exactly the lock (`--no-deps`, hashes checked) into <site>, then compile its
     bytecode ahead (unchecked-hash pycs: the directory never changes after the build);
  5. say which top-level modules each installed distribution ships (`deploy` checks the
     function's imports against them).

Progress and the outcome go to fd 3 as JSON lines; pip's own output to stdout (the build log).
Every failure names a stable code (protocol/errors.ts, DEPS_*) and pip's message, trimmed.
"""
import compileall
import json
import os
import py_compile
import re
import shlex
import subprocess
import sys
import sysconfig
import urllib.parse

from . import forward, imports, requirements

RUNTIME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNTIME_PINS = os.path.join(RUNTIME_DIR, "requirements.txt")
MESSAGE_CHARS = 1500

# pip output -> code, first match wins. Unreachable first: pip ends those with "no matching distribution" too.
_CLASSES = (
    ("DEPS_INDEX_UNREACHABLE", ("ProxyError", "NewConnectionError", "Failed to establish a new connection", "Tunnel connection failed",
                                "Max retries exceeded", "Could not fetch URL", "ConnectTimeout", "Read timed out", "Connection refused",
                                "Network is unreachable", "Temporary failure in name resolution", "SSLError", "CERTIFICATE_VERIFY_FAILED")),
    ("DEPS_REQUIREMENT_INVALID", ("Invalid requirement",)),
    ("DEPS_TOO_LARGE", ("No space left on device", "File too large")),
    ("DEPS_CONFLICT", ("ResolutionImpossible", "conflicting dependencies")),
    ("DEPS_NOT_FOUND", ("No matching distribution found", "Could not find a version that satisfies")),
)


class Failed(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class Build:
    def __init__(self, spec: dict, status, answers):
        self.spec = spec
        self.status = status
        self.answers = answers
        self.site = spec["site"]
        self.work = spec["work"]
        # Variables for every pip run (_index_options fills them): what pip passes on to the pip it starts for build requirements.
        self.pip_env = {}

    def say(self, **message) -> None:
        self.status.write(json.dumps(message) + "\n")
        self.status.flush()

    def run(self) -> int:
        try:
            self._run()
            return 0
        except Failed as err:
            self.say(t="failed", code=err.code, message=str(err)[:MESSAGE_CHARS])
            return 1

    def _run(self) -> None:
        declared, constraints = self._declared()
        if not declared:
            self.say(t="lock", text=lock_text([], []), packages=[])
            self.say(t="done", bytes=0, files=0)
            return
        with open(os.path.join(self.work, "requirements.in"), "w") as f:
            # The same line twice (two -r files that both include a third) once.
            f.write("".join(f"{req}\n" for req in dict.fromkeys(req for _, req, _, _ in declared)))
        with open(os.path.join(self.work, "constraints.in"), "w") as f:
            f.write("".join(f"{req}\n" for req in dict.fromkeys(req for _, req, _, _ in constraints)))
        options = self._index_options()
        self.say(t="phase", phase="resolving")
        report = os.path.join(self.work, "report.json")
        self._pip(["install", "--dry-run", "--ignore-installed", "--report", report, *options,
                   "-c", RUNTIME_PINS, "-c", os.path.join(self.work, "constraints.in"),
                   "-r", os.path.join(self.work, "requirements.in")])
        with open(report) as f:
            packages, provided = from_report(json.load(f), runtime_pins())
        text = lock_text(packages, provided)
        with open(os.path.join(self.work, "lock.txt"), "w") as f:
            f.write(text)
        self.say(t="lock", text=text, packages=[{"name": p["name"], "version": p["version"]} for p in packages])
        if self.answers.readline().strip() != "install":
            self.say(t="done", bytes=0, files=0, skipped=True)
            return
        if packages:
            self.say(t="phase", phase="installing")
            self._pip(["install", "--no-deps", "--ignore-installed", "--target", self.site, "--no-compile",
                       "--no-warn-script-location", *options, "-r", os.path.join(self.work, "lock.txt")])
            self.say(t="phase", phase="compiling")
            compileall.compile_dir(self.site, quiet=2, workers=0,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        size, files = usage(self.site)
        if size > int(self.spec["maxBytes"]):
            raise Failed("DEPS_TOO_LARGE", f"the installed dependencies take {size} bytes ({size / (1 << 20):.0f} MiB), over the limit "
                                           f"of {self.spec['maxBytes']} (FP_DEPS_MAX_BYTES: drop packages, or have the platform's "
                                           "operator raise it; docs/dependencies.md, \"Limits and options\")")
        # What each installed distribution ships, read from the site (deploy's import check).
        self.say(t="done", bytes=size, files=files, modules=imports.site_modules(self.site) if packages else {})

    def _declared(self):
        inputs = os.path.join(self.work, "input")

        def read(name):
            # `name` is a folder path checked by requirements.include_path (relative, inside the
            # folder); the real path must stay under input/ all the same, and never be a link.
            path = os.path.join(inputs, name)
            if os.path.commonpath([os.path.realpath(path), os.path.realpath(inputs)]) != os.path.realpath(inputs):
                return None
            if not os.path.isfile(path) or os.path.islink(path):
                return None
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        try:
            return requirements.declared_with_constraints(read)
        except requirements.BadRequirement as err:
            raise Failed("DEPS_REQUIREMENT_INVALID", str(err)) from None

    def _index_options(self) -> list:
        spec = self.spec
        out = ["--retries", "2", "--timeout", "30"]
        if spec.get("indexUrl"):
            # In an options file of the work folder, not on pip's command line: a private index's
            # user and password there were every local user's to read (`ps -eo args`, red team round 27).
            # And without them: the pip that pip starts for an sdist's build requirements gets the
            # index on its command line (`-i URL`), so the logins go to a netrc file that both read
            # (new-user round 4: the password was on that pip's command line while it ran).
            urls, logins = without_logins([spec["indexUrl"], *(spec.get("extraIndexUrls") or [])])
            lines = [f"--index-url {shlex.quote(urls[0])}\n"]
            lines += [f"--extra-index-url {shlex.quote(url)}\n" for url in urls[1:]]
            out += ["-r", self._private_file("indexes.txt", "".join(lines))]
            if logins:
                self.pip_env["NETRC"] = self._private_file("netrc", "".join(
                    f"machine {_netrc_word(host)} login {_netrc_word(user)} password {_netrc_word(password)}\n"
                    for host, (user, password) in logins.items()))
        else:
            out += ["--no-index"]
        if spec.get("findLinks"):
            out += ["--find-links", spec["findLinks"]]
        out += ["--prefer-binary"] if spec.get("allowSdist") else ["--only-binary", ":all:"]
        if spec.get("cert"):
            out += ["--cert", spec["cert"]]
            self.pip_env["PIP_CERT"] = spec["cert"]
        if spec.get("proxy"):  # computed once per build: one forwarder serves both pip runs
            proxy = f"http://127.0.0.1:{forward.start(spec['proxy'])}"
            out += ["--proxy", proxy]
            # An sdist's build requirements (setuptools, …) are installed by a pip that pip starts
            # itself, given the index and the wheel folder but neither --proxy nor --cert: in the
            # box's network, with the proxy as the only way out, it failed on DNS and every sdist
            # with sdists allowed was DEPS_INDEX_UNREACHABLE (new-user round 4). That pip is not
            # --isolated, so it reads both from its environment.
            self.pip_env["PIP_PROXY"] = proxy
        return out

    def _private_file(self, name: str, text: str) -> str:
        """`text` in a new file of the work folder only the build's uid may read; its path."""
        path = os.path.join(self.work, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def _pip(self, args: list) -> None:
        cmd = [sys.executable, "-I", "-m", "pip", "--isolated", "--disable-pip-version-check", "--no-input",
               "--no-cache-dir", *args[:1], "--progress-bar", "off", *args[1:]]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                text=True, errors="replace", cwd=self.work, env={**os.environ, **self.pip_env})
        lines = []
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line)
        if proc.wait() != 0:
            output = "".join(lines)
            code = classify(output)
            raise Failed(code, pip_message(output, code, bool(self.spec.get("allowSdist")), int(self.spec.get("maxBytes") or 0)))


def without_logins(urls: list) -> tuple:
    """(urls, {host: (user, password)}): the index URLs with their user info taken out, and the
    logins by host, as a netrc file gives them (one per host: an index whose host has another login
    already keeps its own in the URL)."""
    out, logins = [], {}
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        # An IPv6 host: requests looks a netrc login up by the netloc up to its first ':', so keeps it in the URL.
        if parts.username is None or not parts.hostname or ":" in parts.hostname:
            out.append(url)
            continue
        login = (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
        if logins.setdefault(parts.hostname, login) != login:
            out.append(url)
            continue
        out.append(urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])))
    return out, logins


def _netrc_word(text: str) -> str:
    """One word of a netrc file, quoted (Python's netrc reads `\\` and `\"` inside quotes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def classify(output: str) -> str:
    for code, needles in _CLASSES:
        if any(n in output for n in needles):
            return code
    return "DEPS_BUILD_FAILED"


def pip_message(output: str, code: str, sdists: bool, max_bytes: int = 0) -> str:
    """pip's own error, from its first `ERROR:` line, without the generic advice; trimmed. For an
    unreachable index, the first connection failure pip reported comes first; for a build over the
    size limit, which limit, the file pip was fetching, and who raises it (_too_large_hint)."""
    lines = output.splitlines()
    if code == "DEPS_INDEX_UNREACHABLE":
        needles = dict(_CLASSES)[code]
        cause = next((l.strip() for l in lines if any(n in l for n in needles)), "")
        return (f"the package index could not be reached: {cause}")[:MESSAGE_CHARS]
    start = next((i for i, l in enumerate(lines) if l.startswith("ERROR:")), max(0, len(lines) - 15))
    kept, skipping = [], False
    for line in lines[start:]:
        if line.startswith("To fix this you could try to"):
            skipping = True
        elif line.startswith("ERROR:"):
            skipping = False
        if not skipping and line.strip() and "pip.pypa.io" not in line:
            kept.append(line.rstrip())
    message = "\n".join(_short_versions(line) for line in kept) or "pip failed without a message"
    if "No matching distribution" in message or "Could not find a version" in message:
        message += "\n" + _not_found_hint(message, sdists)
    if code == "DEPS_TOO_LARGE":
        return (message[:MESSAGE_CHARS // 2] + "\n" + _too_large_hint(lines, max_bytes))[:MESSAGE_CHARS]
    return message[:MESSAGE_CHARS]


_DOWNLOADING = re.compile(r"^\s*Downloading (\S+\.whl|\S+\.tar\.gz|\S+\.zip)(?: \(([^)]*)\))?")


def _too_large_hint(lines: list, max_bytes: int) -> str:
    """pip's "[Errno 27] File too large" (the builder's file size limit) or "No space left on device"
    (its /tmp) name neither the limit nor the file (apps round 26: `torch` from PyPI, a 539 MB wheel
    and the CUDA packages it brings, said only "OSError: [Errno 27] File too large")."""
    limit = f"{max_bytes / (1 << 20):g} MiB" if max_bytes > 0 else "FP_DEPS_MAX_BYTES"
    fetched = [m for m in map(_DOWNLOADING.match, lines) if m is not None]
    what = ""
    if fetched:
        name, size = fetched[-1].group(1).rsplit("/", 1)[-1], fetched[-1].group(2)
        what = f"; pip was fetching {name}" + (f" ({size})" if size else "")
    hint = (f"(the dependency builder takes at most {limit} for the installed packages and for any one file{what}: "
            "drop packages or choose lighter ones, or have the platform's operator raise FP_DEPS_MAX_BYTES; "
            "docs/dependencies.md, \"Limits and options\")")
    if fetched and fetched[-1].group(1).rsplit("/", 1)[-1].lower().startswith(("torch-", "nvidia_", "nvidia-", "triton-")):
        hint += ("\n(PyPI's torch for Linux is the CUDA build, which brings the nvidia-* packages, several GB: for CPU "
                 "inference, the operator can add PyTorch's CPU-only wheel index (FP_DEPS_EXTRA_INDEX_URLS), or export "
                 "the model to ONNX and declare onnxruntime, about 80 MiB)")
    return hint


_FROM_VERSIONS = re.compile(r"\(from versions: ([^)]*)\)")

# Distributions published as sources only, and the one with wheels to use instead.
_WHEELED = {"psycopg2": "psycopg2-binary"}


def _short_versions(line: str) -> str:
    """pip's `(from versions: …)` lists every release (70 for urllib3): the first three and last five."""
    def cut(m):
        versions = [v.strip() for v in m.group(1).split(",")]
        if len(versions) <= 10:
            return m.group(0)
        return f"(from versions: {', '.join(versions[:3])}, … {len(versions) - 8} more …, {', '.join(versions[-5:])})"
    return _FROM_VERSIONS.sub(cut, line)


def _not_found_hint(message: str, sdists: bool) -> str:
    """What a "no matching distribution" means, from what pip listed: releases exist but none fits
    the constraints given, or none at all (no such project, or, wheels only, none with a wheel)."""
    found = _FROM_VERSIONS.search(message)
    if found is not None and found.group(1).strip() not in ("", "none"):
        return "(releases exist, listed above, but none fits the version constraints given: check the pins, and pins of the same package in other lines)"
    if sdists:
        return "(no release at all: check the name's spelling, and the package index in use)"
    name = re.search(r"No matching distribution found for ([A-Za-z0-9._-]+)", message)
    instead = _WHEELED.get(requirements.normalize(name.group(1))) if name else None
    hint = "(no release with a wheel for this Python: the name is misspelt, or the package is published as sources only, and this platform installs wheels only"
    if instead:
        return hint + f"; use {instead!r} instead)"
    # The way out, said where the refusal is read (new-user round 4: a sources-only package ended here, no fix named).
    return hint + ": its operator allows sources with FP_DEPS_ALLOW_SDIST=1, whose build scripts then run in the builder's box; docs/dependencies.md)"


def runtime_pins() -> dict:
    """The runtime's own distributions, normalized name -> version (runtime/requirements.txt)."""
    with open(RUNTIME_PINS) as f:
        pins = requirements.parse_requirements_txt(f.read(), "runtime/requirements.txt")
    return {name: re.sub(r"^.*==\s*", "", req).strip() for name, req, _ in pins}


def from_report(report: dict, pins: dict):
    """(packages, provided): what to install, sorted, and what the runtime already provides."""
    packages, provided = [], []
    for item in report.get("install") or []:
        meta = item.get("metadata") or {}
        name, version = requirements.normalize(meta.get("name", "")), str(meta.get("version", ""))
        info = item.get("download_info") or {}
        sha = ((info.get("archive_info") or {}).get("hashes") or {}).get("sha256")
        entry = {"name": name, "version": version, "sha256": sha, "url": info.get("url", "")}
        (provided if name in pins else packages).append(entry)
    packages.sort(key=lambda p: p["name"])
    provided.sort(key=lambda p: p["name"])
    return packages, provided


def lock_text(packages: list, provided: list) -> str:
    """The lock: its sha256 names the site directory, so it holds everything the site depends on."""
    tag = f"{sys.implementation.cache_tag} {sysconfig.get_platform()}"
    hashes = all(p["sha256"] for p in packages)
    lines = ["# fastapi-platform dependency lock v1", f"# python: {tag}"]
    lines += [f"# provided by the runtime: {p['name']}=={p['version']}" for p in provided]
    lines += [f"{p['name']}=={p['version']}" + (f" --hash=sha256:{p['sha256']}" if hashes else "") for p in packages]
    return "\n".join(lines) + "\n"


def usage(root: str):
    """(bytes, files) under root, symlinks not followed."""
    size = files = 0
    for current, dirs, names in os.walk(root):
        for name in names + dirs:
            st = os.lstat(os.path.join(current, name))
            size += st.st_size
            files += 1
    return size, files
