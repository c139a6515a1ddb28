#!/usr/bin/env bash
# Builds, once, CoreDNS (the cluster DNS) from its Go module into
# $OCIREG_CACHE/coredns-<version>/ and prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/cluster/versions.env
CACHE="${OCIREG_CACHE:-$HOME/.cache/ocireg}"
dir="$CACHE/coredns-$COREDNS_VERSION"
if [ ! -x "$dir/coredns" ]; then
  started=$SECONDS
  echo "coredns $COREDNS_VERSION: building from its Go module (a few minutes, once)" >&2
  rm -rf "$dir.tmp"
  CGO_ENABLED=0 GOBIN="$dir.tmp" GOFLAGS=-mod=mod go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION" >&2
  "$dir.tmp/coredns" -version >&2
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  echo "coredns $COREDNS_VERSION: built in $((SECONDS - started)) s" >&2
fi
echo "$dir/coredns"
