#!/usr/bin/env bash
# The production-like local stack (`bash scripts/start.sh --full`): real PostgreSQL, Redis, Kafka and MinIO as local
# processes (installed once, cached), then the five services on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
bash scripts/deps/install.sh
pnpm build
exec node libs/devstack/dist/cli.js
