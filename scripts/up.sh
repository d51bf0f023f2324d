#!/usr/bin/env bash
# `npm start`: install what is missing, build, start the platform on the embedded default
# with the functions in examples/, and show one being invoked. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
unset NODE_EXTRA_CA_CERTS
port=${FP_PORT:-8080}
node dist/gateway/main.js --functions examples --port "$port" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null' INT TERM EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { echo "the gateway did not start"; exit 1; }
  sleep 0.1
done
echo
echo "Invoking the example function (first call is a cold start, second is warm):"
for i in 1 2; do
  curl -s -D - -o /tmp/fp-demo-body "http://127.0.0.1:$port/fn/hello/?name=world" \
    | grep -iE '^(HTTP|x-cold-start|server-timing|x-run-id)' | tr -d '\r'
  cat /tmp/fp-demo-body; echo; echo
done
echo "Try it yourself:  curl 'http://127.0.0.1:$port/fn/hello/?name=you'"
echo "FastAPI example:   curl 'http://127.0.0.1:$port/fn/fastapi-app/items/42?q=x'"
echo "Press Ctrl-C to stop."
wait $pid
