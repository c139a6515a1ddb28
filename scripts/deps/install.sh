#!/usr/bin/env bash
# Installs, once, the servers and clients the tests, local runs and `pnpm bench` need:
# Debian packages, the Kafka broker jars (Maven Central), the MinIO server and
# fake-gcs-server (built from their Go modules). Downloads and builds are cached outside the
# repository under $OCIREG_CACHE (default ~/.cache/ocireg), keyed by version,
# so a second run only checks and takes seconds. Prints one line per component.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/deps/versions.env
CACHE="${OCIREG_CACHE:-$HOME/.cache/ocireg}"
mkdir -p "$CACHE"

# Runs a noisy command with its output in a log; shows the log's end if it fails.
quietly() {
  local log="$1"
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "failed: $*" >&2
    tail -n 30 "$log" >&2
    return 1
  fi
}

# --- Debian packages -------------------------------------------------------
# component | how to find it (a command or a path glob) | Debian package
DEBIAN=(
  "postgres|/usr/lib/postgresql/*/bin/postgres|postgresql"
  "redis|redis-server|redis-server"
  "dockerd|dockerd|docker.io"
  "skopeo|skopeo|skopeo"
  "ctr|ctr|containerd"
  "java|java|openjdk-17-jre-headless"
  "maven|mvn|maven"
  # CNCF Distribution 2.8, the reference registry of `pnpm bench` (filesystem and s3 drivers).
  "distribution|docker-registry|docker-registry"
  # The browser tests of the web UI (Playwright drives Debian's Chromium; browser downloads are not reachable).
  "chromium|/usr/bin/chromium|chromium"
  "fonts|/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf|fonts-liberation"
)
present() { command -v "$1" >/dev/null 2>&1 || compgen -G "$1" >/dev/null; }

missing=()
for entry in "${DEBIAN[@]}"; do
  IFS='|' read -r name probe package <<<"$entry"
  if present "$probe"; then echo "$name: present"; else missing+=("$package"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "debian: missing ${missing[*]}; run as root or install them" >&2; exit 1; }
    sudo=sudo
  fi
  started=$SECONDS
  # Keep the packages from starting system-wide services on the default ports:
  # the tests start their own servers on free ports.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    trap '$sudo rm -f "$policy"' EXIT
  fi
  quietly "$CACHE/apt.log" $sudo apt-get update
  quietly "$CACHE/apt.log" $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  echo "debian: installed ${missing[*]} in $((SECONDS - started)) s"
fi
command -v go >/dev/null || { echo "go: missing; MinIO and the client tools are built with the Go toolchain (1.24 or newer)" >&2; exit 1; }

# --- Kafka broker jars from Maven Central -----------------------------------
# A pom that only lists the broker and a log4j2 binding; Maven copies them and
# their runtime dependencies into libs/, which is the broker's classpath.
write_kafka_pom() {
  cat >"$1" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ocireg.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
}

# Formats a throwaway KRaft node and starts it until it says it started.
kafka_smoke_test() {
  local dir="$1" work port controller
  work="$(mktemp -d)"
  port=$(free_port)
  controller=$(free_port)
  cat >"$work/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$work/data
offsets.topic.replication.factor=1
EOF
  local java=(java -Xmx512m -Dlog4j2.level=INFO -cp "$dir/libs/*")
  quietly "$work/format.log" "${java[@]}" kafka.tools.StorageTool format -t "$("${java[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null)" -c "$work/server.properties" --standalone
  "${java[@]}" kafka.Kafka "$work/server.properties" >"$work/kafka.log" 2>&1 &
  local pid=$! ok=1
  for _ in $(seq 1 120); do
    if grep -qs "Kafka Server started" "$work/kafka.log"; then ok=0; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [ "$ok" -eq 0 ] || tail -n 30 "$work/kafka.log" >&2
  rm -rf "$work"
  return "$ok"
}

# A loopback port nothing listens on right now (a connect to it is refused).
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

kafka_dir="$CACHE/kafka-$KAFKA_VERSION"
if [ -f "$kafka_dir/libs/kafka_2.13-$KAFKA_VERSION.jar" ]; then
  echo "kafka $KAFKA_VERSION: cached"
else
  started=$SECONDS
  rm -rf "$kafka_dir.tmp"
  mkdir -p "$kafka_dir.tmp"
  write_kafka_pom "$kafka_dir.tmp/pom.xml"
  quietly "$kafka_dir.tmp/mvn.log" mvn -B -f "$kafka_dir.tmp/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime "-DoutputDirectory=$kafka_dir.tmp/libs"
  kafka_smoke_test "$kafka_dir.tmp" || { echo "kafka $KAFKA_VERSION: the downloaded broker did not start" >&2; exit 1; }
  # Only a broker that started goes into the cache.
  mv "$kafka_dir.tmp" "$kafka_dir"
  echo "kafka $KAFKA_VERSION: downloaded and started once in $((SECONDS - started)) s"
fi

# --- MinIO server built from its Go module ------------------------------------
minio_dir="$CACHE/minio-$MINIO_VERSION"
if [ -x "$minio_dir/minio" ]; then
  echo "minio $MINIO_VERSION: cached"
else
  started=$SECONDS
  echo "minio $MINIO_VERSION: building from its Go module (several minutes, once)"
  rm -rf "$minio_dir.tmp"
  quietly "$CACHE/minio-build.log" env GOBIN="$minio_dir.tmp" go install "github.com/minio/minio@$MINIO_VERSION"
  "$minio_dir.tmp/minio" --version >/dev/null
  mv "$minio_dir.tmp" "$minio_dir"
  echo "minio $MINIO_VERSION: built in $((SECONDS - started)) s"
fi

# --- fake-gcs-server (the gcs storage backend's tests) built from its Go module ---------
# (Azurite, the azure backend's, is an npm package of libs/testenv.)
gcs_dir="$CACHE/fake-gcs-server-$FAKE_GCS_SERVER_VERSION"
if [ -x "$gcs_dir/fake-gcs-server" ]; then
  echo "fake-gcs-server $FAKE_GCS_SERVER_VERSION: cached"
else
  started=$SECONDS
  echo "fake-gcs-server $FAKE_GCS_SERVER_VERSION: building from its Go module (a few minutes, once)"
  rm -rf "$gcs_dir.tmp"
  quietly "$CACHE/fake-gcs-server-build.log" env GOBIN="$gcs_dir.tmp" go install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_SERVER_VERSION"
  [ -x "$gcs_dir.tmp/fake-gcs-server" ]
  mv "$gcs_dir.tmp" "$gcs_dir"
  echo "fake-gcs-server $FAKE_GCS_SERVER_VERSION: built in $((SECONDS - started)) s"
fi

# --- Client tools the e2e tests drive (grpcurl, crane, oras, helm, the OCI conformance suite)
bash scripts/tools/go-tools.sh

# --- Container images and the local Kubernetes cluster (the chart's live test) ----------
bash scripts/cluster/deps.sh
