#!/usr/bin/env bash
# The one test command: installs what the tests need (cached outside the repo),
# builds, then runs every test: unit, integration (real PostgreSQL, Redis,
# Kafka, MinIO) and end-to-end (real dockerd with the docker CLI, skopeo, grpcurl).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

bash scripts/bootstrap.sh
bash scripts/deps/install.sh
export PATH="$(bash scripts/deps/tool-path.sh):$PATH"

pnpm build
pnpm run typecheck:tests
pnpm exec vitest run

summary=reports/oci-conformance/summary.txt
if [ -f "$summary" ]; then
  echo "--- OCI conformance summary (full report: reports/oci-conformance/report.html) ---"
  cat "$summary"
fi
echo "test.sh: finished in $((SECONDS - started)) s"
