#!/usr/bin/env bash
# Builds, once, kube-router (used only as the NetworkPolicy controller) from its Go module
# into $OCIREG_CACHE/kube-router-<version>/ and prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/cluster/versions.env
CACHE="${OCIREG_CACHE:-$HOME/.cache/ocireg}"
dir="$CACHE/kube-router-$KUBE_ROUTER_VERSION"
if [ ! -x "$dir/kube-router" ]; then
  started=$SECONDS
  echo "kube-router $KUBE_ROUTER_VERSION: building from its Go module (a few minutes, once)" >&2
  rm -rf "$dir.tmp"
  CGO_ENABLED=0 GOBIN="$dir.tmp" GOFLAGS=-mod=mod go install -trimpath \
    -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION" \
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION" >&2
  "$dir.tmp/kube-router" --version >&2 || true
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  echo "kube-router $KUBE_ROUTER_VERSION: built in $((SECONDS - started)) s" >&2
fi
echo "$dir/kube-router"
