#!/usr/bin/env bash
# The one test command (`npm test`): installs what the tests need, then runs every tier.
# Prints Node's test runner summary (pass/fail counts) last.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The servers the production-store tests use (redis-server, FerretDB); not needed by `npm start`.
bash scripts/services.sh
# The kube tier's kube-apiserver, kine, helm and kubeconform (built once, cached outside the repo;
# the first build takes about 25 minutes on 2 cores). Without Go the tier skips, except in CI.
if ! bash scripts/k8s-tools.sh >/dev/null; then
  if [ -n "${CI:-}" ]; then echo "test: the kube tier's tools could not be built"; exit 1; fi
  echo "test: the kube tier's tools could not be built; its tests will skip"
fi
echo "test: checking the module graph has no cycles"
npx madge --circular --extensions js dist/protocol dist/poolmgr dist/gateway dist/controlplane dist/platform dist/cli 2>/dev/null >/tmp/fp-madge.txt || { cat /tmp/fp-madge.txt; echo "circular imports found"; exit 1; }
echo "test: running the suite"
unset NODE_EXTRA_CA_CERTS
exec node --test --test-concurrency=2 --test-reporter=spec "$@" dist/test/
