#!/usr/bin/env bash
# Builds the benchmark's load generator (bench/loadgen, Go, no dependencies
# beyond the standard library) into $OCIREG_CACHE (default ~/.cache/ocireg),
# keyed by a hash of its sources and the Go version, so a second run reuses it.
# Prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/../loadgen"
command -v go >/dev/null || { echo "go: missing; the benchmark's load generator is built with the Go toolchain" >&2; exit 1; }
CACHE="${OCIREG_CACHE:-$HOME/.cache/ocireg}"
key=$( (go version; cat go.mod ./*.go) | sha256sum | cut -c1-16)
dir="$CACHE/bench-loadgen-$key"
if [ ! -x "$dir/loadgen" ]; then
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp"
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$dir.tmp/loadgen" .
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
fi
echo "$dir/loadgen"
