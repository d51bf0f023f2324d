#!/usr/bin/env bash
# Builds the gateway's peer addon: gateway/native/peer.cc → gateway/native/peer-abi<N>.node (N:
# the Node.js ABI it is built for), when it is missing or older than its source
# (docs/adr/0093-peer-port.md). Run by scripts/setup.sh; never committed (.gitignore).
#
# It needs a C++ compiler and the Node.js headers of the running node (<prefix>/include/node, as
# Node's own packages install them). Without a compiler it tries Debian's g++ (apt, as root);
# without either it says so and exits 0: the gateway then gives request.client port 0 (the
# address still comes through), as before the addon.
set -euo pipefail
cd "$(dirname "$0")/.."
src=gateway/native/peer.cc
abi=$(node -p 'process.versions.modules')
out=gateway/native/peer-abi$abi.node
if [ -f "$out" ] && [ "$out" -nt "$src" ]; then exit 0; fi
headers=$(node -p 'require("path").join(process.execPath, "..", "..", "include", "node")')
if [ ! -f "$headers/node.h" ]; then
  echo "build-peer: no Node.js headers in $headers: $out not built; request.client's port stays 0" >&2
  exit 0
fi

compiler() {
  for cxx in "${CXX:-}" g++ c++ clang++; do
    if [ -n "$cxx" ] && command -v "$cxx" >/dev/null 2>&1; then echo "$cxx"; return 0; fi
  done
  return 1
}
if ! cxx=$(compiler) && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  echo "build-peer: no C++ compiler; installing g++ (apt-get)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++; } >/dev/null 2>&1 || true
fi
if ! cxx=$(compiler); then
  echo "build-peer: no C++ compiler (install g++): $out not built; request.client's port stays 0" >&2
  exit 0
fi
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
if ! "$cxx" -O2 -Wall -shared -fPIC -std=c++17 -DNODE_GYP_MODULE_NAME=fp_peer -I"$headers" -o "$tmp" "$src"; then
  echo "build-peer: the build failed: $out not built; request.client's port stays 0" >&2
  exit 0
fi
mv "$tmp" "$out"
echo "build-peer: built $out"
