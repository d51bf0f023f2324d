#!/usr/bin/env bash
# Installs what the platform needs on a fresh machine, then builds. Idempotent: a second run only
# checks. Two depths:
#
#   bash scripts/setup.sh           everything `npm test`, `npm run bench` and `npm run build` need:
#                                   the Python test tools too, and a type-checked build (tsc, and
#                                   the web console's tsc + esbuild)
#   bash scripts/setup.sh --start   what `npm start` needs: the runtime's Python packages (its own and
#                                   what its presets preload: runtime/requirements*.txt but -dev), and a
#                                   quick build (scripts/transpile.mjs: no type checking; the
#                                   console bundled by esbuild without its type check)
#
# The Node packages and the Python environment install at the same time. After compiling
# better-sqlite3 from source (no prebuilt binary could be downloaded), its binary is kept where
# prebuild-install looks for downloads it made before, so the next install on this machine skips
# the compile (bench/README.md, section 10).
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

depth=all
case "${1:-}" in
  --start) depth=start ;;
  '') ;;
  *) echo "usage: bash scripts/setup.sh [--start]" >&2; exit 2 ;;
esac
# A Node.js older than package.json's engines is refused here, naming it (npm ci only warns).
node scripts/node-version.mjs

# The runtime's virtual environment: the real interpreter, not pyenv's shell shim. The runtime's
# requirements and its presets' always; the test and benchmark tools (uvicorn, pytest, Schemathesis…) unless --start.
python_env() {
  if [ ! -x .venv/bin/python ]; then
    py=$(python3 -c 'import sys; print(sys.executable)')
    echo "setup: creating .venv from $py"
    "$py" -m venv .venv
  fi
  local stamp=.venv/.requirements-stamp want_start want_all files=(runtime/requirements.txt runtime/requirements-presets.txt)
  want_start=$(cat runtime/requirements.txt runtime/requirements-presets.txt | sha256sum | cut -d' ' -f1)
  want_all=$(cat runtime/requirements.txt runtime/requirements-presets.txt runtime/requirements-dev.txt | sha256sum | cut -d' ' -f1)
  if [ "$depth" = start ] && [ "$(cat "$stamp.start" 2>/dev/null)" = "$want_start" ]; then return; fi
  if [ "$depth" = all ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want_all" ]; then return; fi
  if [ "$depth" = all ]; then files+=(runtime/requirements-dev.txt); fi
  echo "setup: installing Python packages into .venv (${files[*]})"
  # `python -m pip`, not .venv/bin/pip: the venv's scripts name the interpreter of the path the venv was made at, so in a
  # clone moved or copied with its .venv that pip ran another clone's Python (and installed into its .venv) or none.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "${files[@]/#/-r}"
  # The full install satisfies --start too.
  echo "$want_start" > "$stamp.start"
  if [ "$depth" = all ]; then echo "$want_all" > "$stamp"; fi
}

# Node packages, when missing or older than the lock file.
node_packages() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing Node packages (npm ci)"
    # node-gyp compiles against this Node's installed headers rather than downloading them (offline, a proxy).
    local nodedir
    nodedir=$(node scripts/node-headers.mjs)
    if [ -n "$nodedir" ]; then export npm_config_nodedir="$nodedir"; fi
    npm ci --loglevel=error
    node scripts/prebuild-cache.mjs
  fi
}

python_log=$(mktemp)
trap 'rm -f "$python_log"' EXIT
python_env > "$python_log" 2>&1 &
python_pid=$!
node_packages
# Bugs of the uWebSockets.js binary mended in place (docs/adr/0085-uws-header-trim.md, 0086, 0100); checks only, once done.
node scripts/patch-uws.mjs
if ! wait "$python_pid"; then
  cat "$python_log" >&2
  echo "setup: installing the Python environment failed" >&2
  exit 1
fi
cat "$python_log"

# The runtime's bytecode, ahead: sandboxed runtimes see this directory read-only and could not
# cache it themselves (each spawn would compile the runtime from source).
.venv/bin/python -m compileall -q runtime >/dev/null
# The native init of forked boxes (C; a note, and the Python init, where no compiler is found).
bash scripts/build-init.sh
# The gateway's peer addon (C++: request.client's port; a note, and port 0, where it cannot be built).
bash scripts/build-peer.sh

if [ "$depth" = start ]; then
  echo "setup: transpiling TypeScript (npm test type-checks it)"
  node scripts/transpile.mjs
else
  echo "setup: compiling TypeScript"
  npx tsc -p .
fi
# Outputs of sources that were moved or deleted would otherwise linger in dist/ (and be tested);
# dist/console is the console's bundle (below), not outputs of single sources.
node -e '
const fs = require("fs"), path = require("path");
(function prune(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) { if (p !== path.join("dist", "console")) prune(p); continue; }
    const m = /^(.*)\.js(\.map)?$/.exec(p);
    if (m && !fs.existsSync(path.join(".", path.relative("dist", m[1]) + ".ts"))) fs.rmSync(p);
  }
})("dist");
'

# The web console (console/ → dist/console, served at /console; docs/console.md): esbuild, skipped
# when its inputs did not change. The full depth type-checks it first.
if [ "$depth" = start ]; then
  node dist/scripts/build-console.js --quiet --no-typecheck
else
  node dist/scripts/build-console.js --quiet
fi
