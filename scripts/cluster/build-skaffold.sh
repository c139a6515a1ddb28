#!/usr/bin/env bash
# Builds, once, skaffold (optional: `skaffold build/run -p local`) from its Go module into
# $OCIREG_CACHE/skaffold-<version>/ and prints the binary's path. The module has replace
# directives, so `go install pkg@version` refuses it: it is built inside a copy of the module.
# Not run by the tests (about 10 minutes on 2 cores the first time).
set -euo pipefail
cd "$(dirname "$0")/../.."
SKAFFOLD_VERSION=v2.16.1
CACHE="${OCIREG_CACHE:-$HOME/.cache/ocireg}"
dir="$CACHE/skaffold-$SKAFFOLD_VERSION"
if [ ! -x "$dir/skaffold" ]; then
  started=$SECONDS
  echo "skaffold $SKAFFOLD_VERSION: building from its Go module (about 10 minutes, once)" >&2
  export GOFLAGS=-mod=mod
  mod="$(go mod download -json "github.com/GoogleContainerTools/skaffold/v2@$SKAFFOLD_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  src="$CACHE/skaffold-src-$SKAFFOLD_VERSION"
  rm -rf "$src" "$dir.tmp"
  cp -r "$mod" "$src"
  chmod -R u+w "$src"
  mkdir -p "$dir.tmp"
  (cd "$src" && rm -rf vendor && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/version.version=$SKAFFOLD_VERSION" \
    -o "$dir.tmp/skaffold" ./cmd/skaffold >&2)
  rm -rf "$src" "$dir"
  mv "$dir.tmp" "$dir"
  echo "skaffold $SKAFFOLD_VERSION: built in $((SECONDS - started)) s" >&2
fi
echo "$dir/skaffold"
