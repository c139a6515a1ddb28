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
# The web UI's bundle-size budget (gzip sizes of web/dist/assets).
node scripts/check-bundle-size.mjs
# Product code (services/, tools/ and the libraries they use) depends on no test tooling.
node scripts/check-product-dependencies.mjs
rm -rf reports/oci-conformance reports/vitest.json reports/secret-audit
# Every temporary file the tests make (service logs, data directories, client configs) goes
# under one directory, removed once the run has passed; a failed run keeps it for its logs.
# World-traversable: as root, PostgreSQL runs as its own user below it.
run_tmp="$(mktemp -d "${TMPDIR:-/tmp}/ocireg-test-run-XXXXXX")"
chmod 755 "$run_tmp"
export TMPDIR="$run_tmp"
status=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json=reports/vitest.json || status=$?
# helm lint, helm template (default, all features, trial) and validation of the rendered
# manifests against the Kubernetes API types; the chart's vitest file runs above.
CHART_TEST_SKIP_VITEST=1 bash charts/test.sh || status=1
# No API token issued during the run may appear in any service log.
node scripts/check-logs-for-secrets.mjs || status=1
if [ "$status" = 0 ]; then rm -rf "$run_tmp"; else echo "test.sh: this run's temporary files (service logs among them) are kept in $run_tmp"; fi

# One summary per conformance suite (e2e/tests/oci-conformance.test.ts runs each into a directory of its own).
for summary in reports/oci-conformance/*/summary.txt; do
  [ -f "$summary" ] || continue
  echo "--- OCI conformance summary (full report: $(dirname "$summary")/report.html) ---"
  cat "$summary"
done
echo "test.sh: finished in $((SECONDS - started)) s"
# The closing line CI reads: counts from vitest's JSON report.
node -e '
  const r = require("./reports/vitest.json");
  // Each failed test with the start of its failure message, so a CI log that keeps only the tail says why.
  const why = (t) => String(t.failureMessages[0] ?? "").split("\n").slice(0, 12).join("\n    ").slice(0, 1200);
  const failed = r.testResults.flatMap((file) => file.assertionResults.filter((t) => t.status === "failed")
    .map((t) => `${require("path").relative(process.cwd(), file.name)}: ${t.fullName}\n    ${why(t)}`));
  // Failed files with no failed test (a crash while collecting) count too.
  for (const file of r.testResults) if (file.status === "failed" && !file.assertionResults.some((t) => t.status === "failed"))
    failed.push(`${require("path").relative(process.cwd(), file.name)}: ${String(file.message).slice(0, 300)}`);
  for (const line of failed.slice(0, 20)) console.log(`FAILED ${line}`);
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests + r.numTodoTests ? `, ${r.numPendingTests + r.numTodoTests} skipped` : ""));
' || echo "0 passed, 1 failed"
exit "$status"
