#!/usr/bin/env bash
# Installs, once, the servers and clients the tests and local runs need, and
# caches what is downloaded or built outside the repository, keyed by version.
# A second run only checks and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/deps/versions.env
CACHE="${OCIREG_CACHE:-$HOME/.cache/ocireg}"
mkdir -p "$CACHE"

# --- Debian packages: PostgreSQL, Redis, dockerd + docker CLI, skopeo, containerd (ctr), Java for Kafka
missing=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v dockerd >/dev/null || missing+=(docker.io)
command -v skopeo >/dev/null || missing+=(skopeo)
command -v ctr >/dev/null || missing+=(containerd)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
if [ ${#missing[@]} -gt 0 ]; then
  echo "debian: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "debian: run as root (or install ${missing[*]} yourself)" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The package starts services we do not use; the tests start their own on free ports.
  for service in redis-server postgresql docker containerd; do systemctl disable --now "$service" >/dev/null 2>&1 || true; done
else
  echo "debian: postgresql redis-server docker.io skopeo containerd present"
fi

# --- Kafka broker jars from Maven Central
kafka_dir="$CACHE/kafka-$KAFKA_VERSION"
if [ -f "$kafka_dir/libs/kafka_2.13-$KAFKA_VERSION.jar" ]; then
  echo "kafka $KAFKA_VERSION: cached"
else
  echo "kafka $KAFKA_VERSION: downloading from Maven Central"
  rm -rf "$kafka_dir.tmp"
  mvn -q -f scripts/deps/kafka-pom.xml "-Dkafka.version=$KAFKA_VERSION" dependency:copy-dependencies \
    -DincludeScope=runtime "-DoutputDirectory=$kafka_dir.tmp/libs"
  mv "$kafka_dir.tmp" "$kafka_dir"
fi

# --- MinIO server built from its Go module
minio_dir="$CACHE/minio-$MINIO_VERSION"
if [ -x "$minio_dir/minio" ]; then
  echo "minio $MINIO_VERSION: cached"
else
  echo "minio $MINIO_VERSION: building from its Go module (a few minutes, once)"
  GOBIN="$minio_dir" go install "github.com/minio/minio@$MINIO_VERSION"
fi

# --- Client tools the e2e tests drive (grpcurl, crane, oras, the OCI conformance suite)
bash scripts/tools/go-tools.sh
