#!/usr/bin/env bash
# One command to try it: the five services on 127.0.0.1 with an embedded
# PostgreSQL, blobs on the local filesystem and no Kafka, MinIO or Redis; data
# in .ocireg-data (or --data-dir), kept across restarts. Options: --demo,
# --port, --data-dir, --help.
#
# --full starts the production-like stack instead (scripts/start-full.sh: real
# PostgreSQL, Redis, Kafka and MinIO as local processes, data removed on stop).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--full" ]; then
  shift
  exec bash scripts/start-full.sh "$@"
fi

bash scripts/bootstrap.sh
pnpm build
exec node tools/quickstart/dist/cli.js "$@"
