#!/usr/bin/env bash
# The one test command. `npm test` runs every tier; `npm run test:<tier>` runs one:
#
#   bash scripts/test.sh [unit|integration|e2e|kube|conformance] [node --test options…]
#
# Each tier does what the full command does before it runs: installs what is missing and builds
# (setup.sh), checks the dependency rules on the TypeScript sources (dependency-cruiser), and —
# for every tier but unit, whose tests do no I/O — installs redis-server and FerretDB
# (services.sh). `conformance` runs the test files that put an adapter through its port's
# conformance suite (test/conformance/*-suite.ts), whatever their tier. Prints Node's test
# runner summary (pass/fail counts) last. Tiers: test/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

tier=all
case "${1:-}" in
  unit|integration|e2e|kube|conformance) tier=$1; shift ;;
  all) shift ;;
  -*|'') ;;
  *) echo "usage: bash scripts/test.sh [unit|integration|e2e|kube|conformance] [node --test options…]" >&2; exit 2 ;;
esac

bash scripts/setup.sh
# The servers the production-store tests use (redis-server, FerretDB); not needed by `npm start`.
if [ "$tier" != unit ]; then bash scripts/services.sh; fi
# The kube tier's kube-apiserver, kine, helm and kubeconform (built once, cached outside the repo:
# the first build takes about 25 minutes on 2 cores, then a second). Without Go the tier skips,
# except in CI.
if [ "$tier" = all ] || [ "$tier" = kube ] || [ "$tier" = conformance ]; then
  if ! bash scripts/k8s-tools.sh >/dev/null; then
    if [ -n "${CI:-}" ]; then echo "test: the kube tier's tools could not be built" >&2; exit 1; fi
    echo "test: the kube tier's tools could not be built; its tests will skip"
  fi
fi
echo "test: checking the dependency rules (layers, one door per service, no cycles)"
npm run --silent check:deps

# Only *.test.js files: Node 20 treats every .js file under a `test/` directory as a test file, and
# a harness module (no tests, a top-level `after`) never ends under --test-force-exit.
case "$tier" in
  all|unit|integration|e2e|kube)
    dir=dist/test; if [ "$tier" != all ]; then dir+="/$tier"; fi
    mapfile -t files < <(find "$dir" -name '*.test.js' | sort) ;;
  conformance) mapfile -t files < <(grep -l -E "conformance/[a-z-]+-suite\.js" dist/test/*/*.test.js | sort) ;;
esac
if [ "${#files[@]}" -eq 0 ]; then echo "test: no test files for tier $tier" >&2; exit 1; fi

if [ "$tier" = all ]; then echo "test: running every tier"; else echo "test: running the $tier tests"; fi
unset NODE_EXTRA_CA_CERTS
# --test-force-exit: a test file ends when its tests have, even if a handle a test leaked (a child
# process, a socket) would keep it alive: a leak must not hang CI (the runner still reports failures).
# Its exit must not cut off the file's last results: blocking-stdout.js (Node issue 64833).
# late-errors-reporter.js repeats after the summary each error thrown after its test had ended (Node
# lists only its file there, as 'test failed').
exec node --import ./dist/test/helpers/blocking-stdout.js --test --test-concurrency=2 --test-force-exit \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./dist/test/helpers/late-errors-reporter.js --test-reporter-destination=stdout "$@" "${files[@]}"
