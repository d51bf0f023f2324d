#!/usr/bin/env bash
# Installs the servers the production-store tests run against: Debian's redis-server (apt) and
# FerretDB 1.24 (a MongoDB-wire server with a SQLite backend, built with Go); and Debian's chromium
# (apt) for the web console's browser tests (test/e2e/console-*.test.ts). Idempotent and silent
# when all are already there. The tests start their own instances on free ports
# (test/helpers/servers.ts); nothing here starts a server.
#
# Without apt or Go this prints what is missing and exits 0 (those tests then skip), except when CI
# is set: there a missing server is an error.
set -euo pipefail

FERRETDB_MODULE=github.com/FerretDB/FerretDB
FERRETDB_VERSION=v1.24.2

missing() {
  echo "services: $1" >&2
  if [ -n "${CI:-}" ]; then exit 1; fi
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else return 1; fi
}

# Installs Debian's `package` with apt-get (used where a command is missing); `hint` ends the message
# when it cannot (with CI set, `missing` then fails the run).
apt_install() {
  local package="$1" hint="$2"
  if command -v apt-get >/dev/null 2>&1; then
    echo "services: installing $package (apt-get)"
    as_root apt-get update -qq >/dev/null &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null ||
      missing "could not install $package with apt-get; $hint"
  else
    missing "$package is missing and there is no apt-get; $hint"
  fi
}

# --- redis-server ------------------------------------------------------------------------------
if ! command -v redis-server >/dev/null 2>&1; then
  apt_install redis-server "install Redis 7 by hand"
fi

# --- chromium ----------------------------------------------------------------------------------
# Debian's Chromium, which the web console's browser tests drive with playwright-core
# (test/helpers/browser.ts; `npx playwright install` downloads browsers and is not used).
if ! command -v chromium >/dev/null 2>&1 && [ ! -x "${FP_CHROMIUM:-/usr/bin/chromium}" ]; then
  apt_install chromium "install Chromium by hand (or set FP_CHROMIUM to it)"
fi

# --- uidmap ------------------------------------------------------------------------------------
# newuidmap/newgidmap: user-namespace mode maps boxes to a subordinate uid with them (ADR 0141);
# test/e2e/platform-nonroot.test.ts runs that case only where they exist.
if ! command -v newuidmap >/dev/null 2>&1; then
  apt_install uidmap "install uidmap (shadow's newuidmap/newgidmap) by hand"
fi

# --- FerretDB ----------------------------------------------------------------------------------
# Looked for where test/helpers/servers.ts looks: PATH, then $(go env GOPATH)/bin.
ferretdb_ok() {
  # Its output read whole first: `… | grep -q` under pipefail fails at random (grep exits at the
  # first line, FerretDB's next write gets SIGPIPE), which made a fresh machine's CI report the
  # build it had just made as not running.
  local out
  out=$("$1" --version 2>/dev/null) || return 1
  [[ "$out" == *"version: ${FERRETDB_VERSION}"* ]]
}

found=""
if command -v ferretdb >/dev/null 2>&1 && ferretdb_ok "$(command -v ferretdb)"; then
  found=yes
elif command -v go >/dev/null 2>&1; then
  gobin="$(go env GOPATH | cut -d: -f1)/bin"
  if [ -x "$gobin/ferretdb" ] && ferretdb_ok "$gobin/ferretdb"; then found=yes; fi
fi

if [ -z "$found" ]; then
  if ! command -v go >/dev/null 2>&1; then
    missing "FerretDB not installed and Go not found; install Go (1.22+), then re-run scripts/services.sh"
  else
    echo "services: building FerretDB ${FERRETDB_VERSION} into ${gobin} (first time only, a minute or two)"
    # `go install ${FERRETDB_MODULE}/cmd/ferretdb@${FERRETDB_VERSION}` builds a binary that panics at
    # start: build/version/version.txt is generated in FerretDB's own release builds and is not in
    # the module download. So: download the same module, write that file into a copy, build the copy.
    dir=$(go mod download -json "${FERRETDB_MODULE}@${FERRETDB_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -n "$dir" ] || { missing "could not download ${FERRETDB_MODULE}@${FERRETDB_VERSION}"; exit 0; }
    work=$(mktemp -d)
    trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
    cp -r "$dir" "$work/src"
    chmod -R u+w "$work/src"
    echo "${FERRETDB_VERSION}" > "$work/src/build/version/version.txt"
    mkdir -p "$gobin"
    (cd "$work/src" && go build -trimpath -buildvcs=false -o "$gobin/ferretdb" ./cmd/ferretdb) ||
      missing "building FerretDB failed"
    if ferretdb_ok "$gobin/ferretdb"; then
      echo "services: FerretDB ${FERRETDB_VERSION} installed at $gobin/ferretdb"
    else
      missing "the FerretDB build at $gobin/ferretdb does not run"
    fi
  fi
fi
