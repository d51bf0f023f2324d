#!/usr/bin/env bash
# `npm start`: install what is missing (only what starting needs: scripts/setup.sh --start), build
# (quickly, without type checking: `npm test` type-checks), then start the platform on the embedded default
# (state in ./.state) and show a sample function being deployed and invoked. Ctrl-C stops it.
# Extra arguments go to `fastapi-platform up` (e.g. `npm start -- --port 9000`).
set -euo pipefail
cd "$(dirname "$0")/.."
# A fresh clone installs for minutes, and setup's own lines are hidden: say so first, or the
# terminal shows nothing but npm's `> bash scripts/up.sh` until the banner (new-user round 3).
if [ ! -d node_modules ] || [ ! -x .venv/bin/python ]; then
  echo "npm start: installing the Node packages and the Python environment (.venv) first: a few minutes on a fresh clone, once; then it builds and starts" >&2
fi
bash scripts/setup.sh --start >/dev/null
unset NODE_EXTRA_CA_CERTS
exec node bin/fastapi-platform.js up --demo "$@"
