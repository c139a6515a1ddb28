#!/usr/bin/env bash
# Client tools the e2e tests (and the chart tests) drive, built from their Go modules into the cache
# (keyed by version) and linked into $OCIREG_CACHE/bin. Skips what is present.
set -euo pipefail

CACHE="${OCIREG_CACHE:-$HOME/.cache/ocireg}"
BIN="$CACHE/bin"
mkdir -p "$BIN"

# name | module path of the main package | version
TOOLS=(
  "grpcurl|github.com/fullstorydev/grpcurl/cmd/grpcurl|v1.9.4"
  "crane|github.com/google/go-containerregistry/cmd/crane|v0.22.1"
  "oras|oras.land/oras/cmd/oras|v1.3.6"
  "helm|helm.sh/helm/v3/cmd/helm|v3.22.0"
)

for entry in "${TOOLS[@]}"; do
  IFS='|' read -r name module version <<<"$entry"
  dir="$CACHE/$name-$version"
  if [ -x "$dir/$name" ]; then
    echo "$name $version: cached"
  else
    echo "$name $version: building from $module"
    GOBIN="$dir" GOFLAGS=-mod=mod go install "$module@$version"
  fi
  ln -sfn "$dir/$name" "$BIN/$name"
done

# The OCI conformance suite is a Go test package: build its test binary.
CONFORMANCE_VERSION="v0.0.0-20260831232431-97274622c111"
dir="$CACHE/oci-conformance-$CONFORMANCE_VERSION"
if [ -x "$dir/oci-conformance" ]; then
  echo "oci-conformance $CONFORMANCE_VERSION: cached"
else
  echo "oci-conformance $CONFORMANCE_VERSION: building"
  mkdir -p "$dir/src"
  (
    cd "$dir/src"
    [ -f go.mod ] || go mod init ocireg.local/conformance >/dev/null 2>&1
    go get "github.com/opencontainers/distribution-spec/conformance@$CONFORMANCE_VERSION" >/dev/null 2>&1
    go test -c -o "$dir/oci-conformance" github.com/opencontainers/distribution-spec/conformance
  )
fi
ln -sfn "$dir/oci-conformance" "$BIN/oci-conformance"
