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
  # Signs and attests images into the registry as sha256-<digest>.sig / .att tags (e2e/tests/cosign.test.ts).
  "cosign|github.com/sigstore/cosign/v2/cmd/cosign|v2.6.5"
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

# The OCI conformance suite is a Go test package: build its test binary, once per version, and link it
# into $BIN under the name the tests run (e2e/tests/oci-conformance.test.ts runs both).
# name on PATH | module version
CONFORMANCE=(
  # The newest suite (the module publishes no semver versions of its own).
  "oci-conformance|v0.0.0-20260831232431-97274622c111"
  # The suite of the 1.1 release line. The Go module proxy serves neither the release v1.1.1 (the
  # repository's tag, commit a139cc4 of 2025-01-23, as v0.0.0-20250123160558-a139cc423184) nor any
  # commit between its last conformance change and it; the nearest it serves is this one (2023-11-01,
  # between v1.1.0-rc3 and rc.4; v1.1.0 and v1.1.1 contain it).
  "oci-conformance-v1.1|v0.0.0-20231101194043-f2182352d4cc"
)

for entry in "${CONFORMANCE[@]}"; do
  IFS='|' read -r name version <<<"$entry"
  dir="$CACHE/oci-conformance-$version"
  if [ -x "$dir/oci-conformance" ]; then
    echo "$name $version: cached"
  else
    echo "$name $version: building"
    mkdir -p "$dir/src"
    (
      cd "$dir/src"
      [ -f go.mod ] || go mod init ocireg.local/conformance >/dev/null 2>&1
      # -t: the suite is test code, so its test-only imports (gomega) must be in go.sum too.
      go get -t "github.com/opencontainers/distribution-spec/conformance@$version" >/dev/null 2>&1
      go test -c -o "$dir/oci-conformance" github.com/opencontainers/distribution-spec/conformance
    )
  fi
  ln -sfn "$dir/oci-conformance" "$BIN/$name"
done
