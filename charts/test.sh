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
# The other storage backends: Azure with workload identity, GCS with a service account key file.
"$HELM" template ocireg "$CHART" --namespace registry --set storage.backend=azure --set azure.account=ociregci \
  --set azure.workloadIdentity.enabled=true --set azure.workloadIdentity.clientId=00000000-0000-0000-0000-000000000001 >"$out/azure.yaml"
"$HELM" template ocireg "$CHART" --namespace registry --set storage.backend=gcs --set gcs.existingSecret=ocireg-gcs >"$out/gcs.yaml"
for rendered in default all-features trial azure gcs; do
  printf '%s: ' "$rendered"
  "$VALIDATE" "$out/$rendered.yaml"
done

echo "--- vitest chart test"
if [ "${CHART_TEST_SKIP_VITEST:-}" != "1" ]; then
  pnpm exec vitest run --config charts/vitest.config.ts
fi
