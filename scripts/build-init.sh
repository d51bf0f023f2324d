#!/usr/bin/env bash
# Builds the native init of forked boxes: runtime/fp_sandbox/init.c → runtime/fp_sandbox/fp-init
# (docs/adr/0026-native-init.md), when the binary is missing or older than its source. Run by
# scripts/setup.sh (so by `npm start`, `npm test` and the bench); never committed (.gitignore).
#
# Linked statically: an idle init's private memory is ~48 KiB static vs ~96 KiB dynamic (the
# loader's and libc's relocated pages), and its exec needs no loader (bench/README.md, "zygotes").
# Without a static libc it links dynamically. Without a C compiler it tries Debian's gcc and
# libc6-dev (apt, as root), and failing that says so and exits 0: forked boxes then keep the
# Python init (fp_sandbox/keeper.py), which does the same job with ~1.3 MiB more per idle box.
set -euo pipefail
cd "$(dirname "$0")/.."
src=runtime/fp_sandbox/init.c
out=runtime/fp_sandbox/fp-init
if [ -x "$out" ] && [ "$out" -nt "$src" ]; then exit 0; fi

compiler() {
  for cc in "${CC:-}" gcc cc clang; do
    if [ -n "$cc" ] && command -v "$cc" >/dev/null 2>&1; then echo "$cc"; return 0; fi
  done
  return 1
}

if ! cc=$(compiler) && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  echo "build-init: no C compiler; installing gcc and libc6-dev (apt-get)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev; } >/dev/null 2>&1 || true
fi
if ! cc=$(compiler); then
  rm -f "$out"  # an older build may not match the Python side any more
  echo "build-init: no C compiler (install gcc and libc6-dev): $out not built; forked boxes keep the Python init" >&2
  exit 0
fi
flags=(-O2 -Wall -Wextra -D_FORTIFY_SOURCE=2 -fstack-protector-strong)
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
if "$cc" "${flags[@]}" -static -o "$tmp" "$src" 2>/dev/null; then
  linked=static
elif "$cc" "${flags[@]}" -o "$tmp" "$src"; then
  linked="dynamic (no static libc)"
else
  rm -f "$out"
  echo "build-init: $src did not compile: $out not built; forked boxes keep the Python init" >&2
  exit 0
fi
# Renamed into place: a box exec's either the old binary or the new one, never half of one.
mv -f "$tmp" "$out"
echo "build-init: built $out ($linked)"
