#!/usr/bin/env bash
# Builds, once, the tools the chart tests need, into the cache outside the
# repository (keyed by version), and prints the path of helm on stdout:
#   helm      from its Go module (helm.sh/helm/v3/cmd/helm)
#   validate  charts/validate: offline Kubernetes schema validation of rendered
#             manifests (typed k8s.io/api structs, strict), keyed by its sources
# Each is built only when asked for: `helm.sh` (or `helm.sh helm`) builds and prints helm,
# `helm.sh validator` the validator. Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/../.."
HELM_VERSION=v3.22.0
CACHE="${OCIREG_CACHE:-$HOME/.cache/ocireg}"
export GOFLAGS=-mod=mod

build_helm() {
helm_dir="$CACHE/helm-$HELM_VERSION"
if [ ! -x "$helm_dir/helm" ]; then
  echo "helm $HELM_VERSION: building from its Go module (a few minutes, once)" >&2
  started=$SECONDS
  GOBIN="$helm_dir" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  echo "helm $HELM_VERSION: built in $((SECONDS - started)) s" >&2
fi
echo "$helm_dir/helm"
}

build_validator() {
key="$(cat charts/validate/go.mod charts/validate/go.sum charts/validate/*.go | sha256sum | cut -c1-16)"
validate_dir="$CACHE/chart-validate-$key"
if [ ! -x "$validate_dir/validate" ]; then
  echo "chart validator: building charts/validate (a few minutes the first time)" >&2
  mkdir -p "$validate_dir"
  (cd charts/validate && go build -trimpath -o "$validate_dir/validate.tmp" . >&2)
  mv "$validate_dir/validate.tmp" "$validate_dir/validate"
fi
echo "$validate_dir/validate"
}

case "${1:-helm}" in
  helm) build_helm ;;
  validator) build_validator ;;
  *) echo "usage: $0 [helm|validator]" >&2; exit 2 ;;
esac
