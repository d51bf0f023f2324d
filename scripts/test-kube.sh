#!/usr/bin/env bash
# The kube tier alone (test/README.md): builds its tools once (scripts/k8s-tools.sh, cached outside
# the repository), compiles, and runs test/kube/ against a real kube-apiserver on kine with the test
# kubelet. Assumes `bash scripts/setup.sh` has run once (node_modules, .venv). `npm test` runs this
# tier too, with everything else.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/k8s-tools.sh >/dev/null
npx tsc -p .
unset NODE_EXTRA_CA_CERTS
exec node --test --test-concurrency=1 --test-reporter=spec "$@" dist/test/kube/
