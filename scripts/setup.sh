#!/usr/bin/env bash
# Installs everything the platform and its tests need on a fresh machine, then builds.
# Idempotent: a second run only checks. Used by `npm start` and `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

# Node packages, when missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing Node packages (npm ci)"
  npm ci --loglevel=error
fi

# The runtime's virtual environment: the real interpreter, not pyenv's shell shim.
if [ ! -x .venv/bin/python ]; then
  py=$(python3 -c 'import sys; print(sys.executable)')
  echo "setup: creating .venv from $py"
  "$py" -m venv .venv
fi
stamp=.venv/.requirements-stamp
want=$(cat runtime/requirements.txt runtime/requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check -r runtime/requirements.txt -r runtime/requirements-dev.txt
  echo "$want" > "$stamp"
fi

# The runtime's bytecode, ahead: sandboxed runtimes see this directory read-only and could not
# cache it themselves (each spawn would compile the runtime from source).
.venv/bin/python -m compileall -q runtime >/dev/null

echo "setup: compiling TypeScript"
npx tsc -p .
# Outputs of sources that were moved or deleted would otherwise linger in dist/ (and be tested).
node -e '
const fs = require("fs"), path = require("path");
(function prune(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) { prune(p); continue; }
    const m = /^(.*)\.js(\.map)?$/.exec(p);
    if (m && !fs.existsSync(path.join(".", path.relative("dist", m[1]) + ".ts"))) fs.rmSync(p);
  }
})("dist");
' 
