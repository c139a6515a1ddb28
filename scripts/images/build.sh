#!/usr/bin/env bash
# Builds the container images here, without Docker Hub or any image builder:
#   ocireg-{gateway,auth,metadata,blob-upload,indexer,webhooks}  the six services (Node 20, uid 10001)
#   ocireg-trial-{postgres,redis,kafka,minio}           the chart's trial dependencies
#   ocireg-node-base                                    the Debian Node 20 base alone (the Dockerfile's RUNTIME_IMAGE here)
# Layers: a Debian base made with mmdebstrap from debian.lock (cached by its pins),
# the production node_modules installed from pnpm-lock.yaml (--frozen-lockfile --prod
# --offline) plus the compiled libs and proto/ (shared by the five), and one layer
# per service. Layers are deterministic tars, so the same sources give the same digests.
# The result is an OCI image layout in build/images/oci (index.json names every image).
#
# Usage: scripts/images.sh [--tag TAG] [--only a,b] [--no-build] [--load containerd|docker|none]
#   --tag TAG      tag of every image (default: dev-<12 hex of the images' content>); each
#                  service image is also tagged with the chart's appVersion
#   --only LIST    only these images (e.g. gateway,auth or trial)
#   --no-build     use the compiled dist/ as it is (default: pnpm build first)
#   --load WHERE   containerd: import into the local cluster's containerd (scripts/cluster);
#                  docker: `docker load` into $DOCKER_HOST; none (default)
# Prints, last, one line per image: <name> <manifest digest>; and writes build/images/images.env.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
source scripts/images/lib.sh
started=$SECONDS

tag="" only="" build=1 load=none
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --load) load="$2"; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "images: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$load" in containerd|docker|none) ;; *) echo "images: --load must be containerd, docker or none, not '$load'" >&2; exit 2 ;; esac
if [ -n "$tag" ] && ! [[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then echo "images: --tag '$tag' is not a valid image tag" >&2; exit 2; fi

# The services (libs/topology, as charts/ocireg/topology.yaml has it).
service_names="$(node scripts/images/topology.mjs names)"
mapfile -t SERVICES <<<"$service_names"
TRIAL=(postgres redis kafka minio)
wanted() { [ -z "$only" ] && return 0; [[ ",$only," == *",$1,"* ]] || { [ "${2:-}" = trial ] && [[ ",$only," == *",trial,"* ]]; }; }
app_version="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/ocireg/Chart.yaml)"
source scripts/deps/versions.env

out="build/images"
mkdir -p "$out"
stage="$out/stage"
rm -rf "$stage"
mkdir -p "$stage"

want_services=0
for s in "${SERVICES[@]}"; do wanted "$s" && want_services=1; done
want_trial=0
for t in "${TRIAL[@]}"; do wanted "$t" trial && want_trial=1; done

spec_images=()   # JSON objects

image_json() { # names-json layers-json config-json
  printf '{"names":%s,"layers":%s,"config":%s}' "$1" "$2" "$3"
}
layer_json() { # "<path> <diffid>" [created_by]
  local p d
  read -r p d <<<"$1"
  printf '{"path":"%s","diffId":"%s","createdBy":"%s"}' "$p" "$d" "$2"
}

if [ "$want_services" = 1 ]; then
  if [ "$build" = 1 ]; then
    echo "images: pnpm build" >&2
    pnpm build >"$out/build.log" 2>&1 || { tail -n 30 "$out/build.log" >&2; exit 1; }
  fi
  [ -f services/gateway/dist/main.js ] || { echo "images: services/gateway/dist/main.js is missing; run pnpm build (or drop --no-build)" >&2; exit 1; }
  [ -f web/dist/index.html ] || { echo "images: web/dist/index.html is missing; run pnpm build (or drop --no-build)" >&2; exit 1; }
  base_node="$(bash scripts/images/base.sh node)"
  # The base alone, as an image whose entrypoint is node: the Dockerfile's RUNTIME_IMAGE where no
  # other Node 20 image can be had (docker build --build-arg RUNTIME_IMAGE=ocireg-node-base:<tag>).
  spec_images+=("$(image_json '["ocireg-node-base"]' "[$(layer_json "$base_node" "debian base (scripts/images/debian.lock)")]" '{"User":"10001:10001","WorkingDir":"/app","Entrypoint":["/usr/bin/node"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","NODE_ENV=production"]}')")

  # /app as the Dockerfile's runtime stage has it: the workspace manifests and lockfile,
  # production node_modules, compiled libs (without the test-only testenv and devstack, and the
  # launcher, which runs the services from a checkout),
  # proto/ (server reflection reads it), each service's dist/ and migrations/.
  app="$stage/app/app"
  mkdir -p "$app"
  cp package.json pnpm-lock.yaml pnpm-workspace.yaml "$app/"
  [ -f .npmrc ] && cp .npmrc "$app/"
  # Every workspace project's manifest, so the lockfile matches; only libs and services get installed.
  while read -r manifest; do
    mkdir -p "$app/$(dirname "$manifest")"
    cp "$manifest" "$app/$manifest"
  done < <(ls libs/*/package.json services/*/package.json tools/*/package.json web/package.json e2e/package.json bench/package.json 2>/dev/null)
  echo "images: installing production dependencies from pnpm-lock.yaml (offline)" >&2
  filters=()
  for s in "${SERVICES[@]}"; do filters+=(--filter "@ocireg/$s..."); done
  (cd "$app" && CI=true pnpm install --frozen-lockfile --prod --offline --ignore-scripts \
      "${filters[@]}" --config.confirmModulesPurge=false >"$repo/$out/pnpm-install.log" 2>&1) \
    || { echo "images: pnpm install --prod failed (is the pnpm store filled? run scripts/bootstrap.sh):" >&2; tail -n 30 "$out/pnpm-install.log" >&2; exit 1; }
  rm -rf "$app"/tools "$app"/web "$app"/e2e "$app"/bench "$app"/libs/testenv "$app"/libs/devstack "$app"/libs/launcher
  rm -f "$app/node_modules/.modules.yaml" "$app/node_modules/.pnpm/lock.yaml" "$app"/node_modules/.pnpm-workspace-state*.json
  find "$app" -name '.modules.yaml' -delete
  for dir in libs/* services/*; do
    [ -d "$app/$dir" ] || continue
    tar -C "$dir" --exclude=node_modules --exclude=src --exclude='tsconfig*.json' --exclude='*.tsbuildinfo' \
      --exclude='*.test.*' --exclude='*.int.test.*' -cf - . | tar -C "$app/$dir" -xf -
  done
  cp -r proto "$app/proto"
  # The shared layer: everything but the services; then one layer per service.
  mkdir -p "$stage/services"
  mv "$app/services" "$stage/services/app"
  mkdir -p "$app/services"
  common="$(layer_from_dir "$stage/app")"
  for s in "${SERVICES[@]}"; do
    wanted "$s" || continue
    mkdir -p "$stage/svc-$s/app/services"
    mv "$stage/services/app/$s" "$stage/svc-$s/app/services/$s"
    # The gateway serves the web UI's built files (WEB_UI_DIR defaults to <app>/web/dist).
    if [ "$s" = gateway ]; then mkdir -p "$stage/svc-$s/app/web" && cp -r web/dist "$stage/svc-$s/app/web/dist"; fi
    layer="$(layer_from_dir "$stage/svc-$s")"
    # node with the service's flags and environment (the gateway's), and its ports: from the topology.
    config="$(node scripts/images/topology.mjs config "$s" "$app_version")"
    spec_images+=("$(image_json "[\"ocireg-$s\"]" "[$(layer_json "$base_node" "debian base (scripts/images/debian.lock)"),$(layer_json "$common" "node_modules --prod, libs, proto"),$(layer_json "$layer" "services/$s")]" "$config")")
  done
fi

if [ "$want_trial" = 1 ]; then
  base_trial="$(bash scripts/images/base.sh trial)"
  kafka_libs="$CACHE/kafka-$KAFKA_VERSION/libs"
  minio="$CACHE/minio-$MINIO_VERSION/minio"
  for t in "${TRIAL[@]}"; do
    wanted "$t" trial || continue
    root="$stage/trial-$t"
    mkdir -p "$root/usr/local/bin"
    case "$t" in
      postgres)
        install -m 0755 scripts/images/trial/postgres-entrypoint.sh "$root/usr/local/bin/docker-entrypoint.sh"
        # initdb, postgres and pg_isready on PATH, as in the official image.
        for b in initdb postgres pg_ctl pg_isready psql; do ln -s "/usr/lib/postgresql/17/bin/$b" "$root/usr/local/bin/$b"; done
        entry='"Entrypoint":["/usr/local/bin/docker-entrypoint.sh"],"Cmd":["postgres"],"User":"70:70","ExposedPorts":{"5432/tcp":{}}' ;;
      redis)
        install -m 0755 scripts/images/trial/redis-entrypoint.sh "$root/usr/local/bin/docker-entrypoint.sh"
        entry='"Entrypoint":["/usr/local/bin/docker-entrypoint.sh"],"Cmd":["redis-server"],"User":"999:999","ExposedPorts":{"6379/tcp":{}}' ;;
      kafka)
        [ -d "$kafka_libs" ] || { echo "images: $kafka_libs is missing; run scripts/deps/install.sh" >&2; exit 1; }
        mkdir -p "$root/opt/kafka/bin" "$root/opt/kafka/libs"
        cp "$kafka_libs"/*.jar "$root/opt/kafka/libs/"
        install -m 0755 scripts/images/trial/kafka-storage.sh scripts/images/trial/kafka-server-start.sh "$root/opt/kafka/bin/"
        entry='"Cmd":["/opt/kafka/bin/kafka-server-start.sh"],"User":"1000:1000","ExposedPorts":{"9092/tcp":{}}' ;;
      minio)
        [ -x "$minio" ] || { echo "images: $minio is missing; run scripts/deps/install.sh" >&2; exit 1; }
        install -m 0755 "$minio" "$root/usr/local/bin/minio"
        entry='"Entrypoint":["/usr/local/bin/minio"],"Cmd":["server","/data"],"User":"1000:1000","ExposedPorts":{"9000/tcp":{}}' ;;
    esac
    layer="$(layer_from_dir "$root")"
    config="{$entry,\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Labels\":{\"org.opencontainers.image.title\":\"ocireg-trial-$t\",\"ocireg.dev/trial\":\"true\"}}"
    spec_images+=("$(image_json "[\"ocireg-trial-$t\"]" "[$(layer_json "$base_trial" "debian base (scripts/images/debian.lock)"),$(layer_json "$layer" "trial $t")]" "$config")")
  done
fi

[ ${#spec_images[@]} -gt 0 ] || { echo "images: --only '$only' names no image (services: ${SERVICES[*]}; trial: ${TRIAL[*]} or 'trial')" >&2; exit 2; }

# The tag: given, or derived from the layers and configs of every image built.
joined="$(IFS=,; echo "${spec_images[*]}")"
if [ -z "$tag" ]; then
  tag="dev-$(printf '%s' "$joined" | sed 's|"path":"[^"]*",||g' | sha256sum | cut -c1-12)"
fi
# Full names (docker.io/library/...), as the kubelet and containerd normalize the chart's references.
named="$(node -e '
  const [tag, appVersion] = process.argv.slice(1);
  const images = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const image of images) {
    const base = image.names[0];
    image.names = [`docker.io/library/${base}:${tag}`];
    if (!base.startsWith("ocireg-trial-") && base !== "ocireg-node-base" && appVersion && appVersion !== tag) image.names.push(`docker.io/library/${base}:${appVersion}`);
  }
  console.log(JSON.stringify({ layout: "build/images/oci", created: "1970-01-01T00:00:00Z", prune: true, images }));
' "$tag" "$app_version" <<<"[$joined]")"
rm -rf "$out/oci"
node scripts/images/oci-layout.mjs <<<"$named" >"$out/digests.txt"
[ -n "${OCIREG_IMAGES_KEEP_STAGE:-}" ] || rm -rf "$stage"

# images.env: the references to hand to helm (images.<key>=..., trial.<dep>.image=...).
{
  echo "OCIREG_IMAGE_TAG=$tag"
  while read -r name digest; do
    [[ "$name" == *":$tag" ]] || continue
    short="${name#docker.io/library/}"
    var="$(echo "${short%%:*}" | tr 'a-z-' 'A-Z_')"
    echo "${var}=$short"
  done <"$out/digests.txt"
} >"$out/images.env"

case "$load" in
  containerd)
    sock="${CONTAINERD_ADDRESS:-$(bash scripts/cluster/cluster.sh containerd-address)}"
    echo "images: importing into containerd at $sock" >&2
    tar -C "$out/oci" -cf - . | ctr --address "$sock" -n k8s.io images import --all-platforms - >/dev/null ;;
  docker)
    echo "images: docker load${DOCKER_HOST:+ ($DOCKER_HOST)}" >&2
    tar -C "$out/oci" -cf - . | docker load >/dev/null ;;
esac
echo "images: ${#spec_images[@]} images tagged $tag in $((SECONDS - started)) s (OCI layout: $out/oci)" >&2
cat "$out/digests.txt"
