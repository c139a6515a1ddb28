#!/usr/bin/env bash
# Chart checks run in CI: helm lint, helm template (default values, every feature
# on, trial mode), offline validation of every rendered manifest against the
# Kubernetes API types (charts/validate), then the vitest chart test.
# helm and the validator are built once into ${OCIREG_CACHE:-~/.cache/ocireg}.
set -euo pipefail
cd "$(dirname "$0")/.."
CHART=charts/ocireg
HELM="${HELM:-$(bash scripts/deps/helm.sh helm)}"
VALIDATE="$(bash scripts/deps/helm.sh validator)"
export HELM
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

echo "--- helm lint"
"$HELM" lint "$CHART" --strict
"$HELM" lint "$CHART" --strict -f "$CHART/ci/all-features-values.yaml"
"$HELM" lint "$CHART" --strict --set trial.enabled=true

echo "--- helm template + validation against the Kubernetes API types"
"$HELM" template ocireg "$CHART" --namespace registry >"$out/default.yaml"
"$HELM" template ocireg "$CHART" --namespace registry -f "$CHART/ci/all-features-values.yaml" >"$out/all-features.yaml"
"$HELM" template ocireg "$CHART" --namespace registry --set trial.enabled=true >"$out/trial.yaml"
for rendered in default all-features trial; do
  printf '%s: ' "$rendered"
  "$VALIDATE" "$out/$rendered.yaml"
done

echo "--- vitest chart test"
if [ "${CHART_TEST_SKIP_VITEST:-}" != "1" ]; then
  pnpm exec vitest run --config charts/vitest.config.ts
fi
