#!/usr/bin/env bash
# skaffold's custom builder for one artifact (skaffold.yaml, profile `local`): builds the image
# with scripts/images.sh and hands it over under the name skaffold chose ($IMAGE):
#   PUSH_IMAGE=true   skopeo copy to the registry in $IMAGE
#   otherwise         import into the local cluster's containerd (scripts/cluster) when it runs,
#                     and `docker load` when a Docker engine answers (skaffold looks the image up there)
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${IMAGE:?skaffold sets IMAGE (the image name and tag to build)}"
name="${IMAGE%:*}"; tag="${IMAGE##*:}"
artifact="${name##*/}"
case "$artifact" in
  ocireg-trial-*) only=trial ;;
  ocireg-*) only="${artifact#ocireg-}" ;;
  *) echo "skaffold-build: $IMAGE is not an ocireg image" >&2; exit 2 ;;
esac
bash scripts/images.sh --only "$only" --tag "$tag" >/dev/null
# The layout names images docker.io/library/ocireg-<x>:<tag> (io.containerd.image.name and ref.name).
ref="docker.io/library/$artifact:$tag"
if [ "${PUSH_IMAGE:-false}" = true ]; then
  skopeo copy --quiet "oci:build/images/oci:$ref" "docker://$IMAGE"
  exit 0
fi
if bash scripts/cluster/cluster.sh status 2>/dev/null; then
  sock="$(bash scripts/cluster/cluster.sh containerd-address)"
  tar -C build/images/oci -cf - . | ctr --address "$sock" -n k8s.io images import - >/dev/null
  [ "$ref" = "$IMAGE" ] || [ "docker.io/library/$IMAGE" = "$ref" ] || ctr --address "$sock" -n k8s.io images tag --force "$ref" "$IMAGE" >/dev/null
  # skaffold deploys images it did not push as <name>:<Docker image id>; the id is the config digest.
  id="$(node -e '
    const fs = require("fs");
    const i = JSON.parse(fs.readFileSync("build/images/oci/index.json", "utf8"));
    const m = i.manifests.find((m) => m.annotations["io.containerd.image.name"] === process.argv[1]);
    console.log(JSON.parse(fs.readFileSync("build/images/oci/blobs/sha256/" + m.digest.slice(7), "utf8")).config.digest.slice(7));' "$ref")"
  ctr --address "$sock" -n k8s.io images tag --force "$ref" "docker.io/library/$artifact:$id" >/dev/null
  ctr --address "$sock" -n k8s.io images tag --force "$ref" "docker.io/library/$artifact:${id:0:12}" >/dev/null
fi
if docker version >/dev/null 2>&1; then
  tar -C build/images/oci -cf - . | docker load >/dev/null
  [ "docker.io/library/$IMAGE" = "$ref" ] || docker tag "$ref" "$IMAGE"
fi
