#!/usr/bin/env bash
# Builds, once, the tools of the Kubernetes tier and caches them outside the repository:
#   kube-apiserver  k8s.io/kubernetes ${K8S_VERSION} (cmd/kube-apiserver), built from a small wrapper
#                   module, since k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces every
#                   staging module with a local path: the wrapper replaces each with its published
#                   v0.x release instead)
#   kine            the etcd stand-in on SQLite (k3s-io/kine)
#   helm            chart lint and template (helm.sh/helm/v4)
#   kubeconform     manifest validation (yannh/kubeconform)
# Idempotent: a tool already built at its version is left alone, so a cached run takes a second.
# Prints the directory holding the binaries on its last line (`--print-dir` prints only that).
# The cache is $FP_K8S_TOOLS_DIR, else ${XDG_CACHE_HOME:-~/.cache}/fastapi-platform/k8s-tools.
# Needs Go >= 1.24 and a C compiler (kine links SQLite through cgo).
set -euo pipefail

K8S_VERSION=v1.34.4
STAGING_VERSION=v0.34.4
KINE_VERSION=v0.17.5
HELM_VERSION=v4.3.2
KUBECONFORM_VERSION=v0.7.0

CACHE="${FP_K8S_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fastapi-platform/k8s-tools}"
BIN="$CACHE/bin"
if [ "${1:-}" = "--print-dir" ]; then echo "$BIN"; exit 0; fi
mkdir -p "$BIN" "$CACHE/src"

log() { echo "k8s-tools: $*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "Go is not installed: the Kubernetes tier needs Go >= 1.24 to build its tools"
  exit 1
fi

# built NAME VERSION: true when $BIN/NAME was built at VERSION by this script.
built() { [ -x "$BIN/$1" ] && [ "$(cat "$BIN/.$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" > "$BIN/.$1.version"; }

# --- kube-apiserver -------------------------------------------------------------------------------
if ! built kube-apiserver "$K8S_VERSION"; then
  log "building kube-apiserver $K8S_VERSION (first time: about 10 minutes on 2 cores)"
  started=$SECONDS
  src="$CACHE/src/apiserver-$K8S_VERSION"
  mkdir -p "$src"
  gomod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  {
    echo "module fp.local/k8s-tools"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    # Every `k8s.io/x => ./staging/src/k8s.io/x` of k8s.io/kubernetes becomes `k8s.io/x => k8s.io/x v0.N`.
    sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*#\t\1 => \1 '"$STAGING_VERSION"'#p' "$gomod"
    echo ")"
  } > "$src/go.mod"
  cat > "$src/tools.go" <<'EOF'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
EOF
  (cd "$src" && GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || GOFLAGS=-mod=mod go mod tidy)
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$BIN/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
  stamp kube-apiserver "$K8S_VERSION"
  log "kube-apiserver built in $((SECONDS - started)) s"
fi

# --- go install'able tools ------------------------------------------------------------------------
install_tool() { # NAME PACKAGE VERSION [CGO]
  local name="$1" pkg="$2" version="$3" cgo="${4:-0}" started=$SECONDS
  built "$name" "$version" && return 0
  log "building $name $version"
  GOBIN="$BIN" CGO_ENABLED="$cgo" go install -trimpath "$pkg@$version"
  stamp "$name" "$version"
  log "$name built in $((SECONDS - started)) s"
}
install_tool kine github.com/k3s-io/kine "$KINE_VERSION" 1
install_tool helm helm.sh/helm/v4/cmd/helm "$HELM_VERSION"
install_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"

echo "$BIN"
