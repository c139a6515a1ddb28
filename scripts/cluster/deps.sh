#!/usr/bin/env bash
# Installs, once, what the container images and the local cluster need (run by
# scripts/deps/install.sh, so by scripts/test.sh):
#   Debian: mmdebstrap (image bases), etcd-server, containerd, runc,
#           containernetworking-plugins (bridge CNI), ipset and conntrack (kube-proxy, kube-router)
#   Go modules, built into $OCIREG_CACHE keyed by version: Kubernetes (build-kubernetes.sh),
#           CoreDNS (build-coredns.sh), kube-router (build-kube-router.sh)
# and the Debian bases of the images (scripts/images/base.sh). Prints one line per part.
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE="${OCIREG_CACHE:-$HOME/.cache/ocireg}"
mkdir -p "$CACHE"

# component | how to find it | Debian package
DEBIAN=(
  "mmdebstrap|mmdebstrap|mmdebstrap"
  "etcd|etcd|etcd-server"
  "containerd|containerd|containerd"
  "runc|runc|runc"
  "cni plugins|/usr/lib/cni/bridge|containernetworking-plugins"
  "ipset|ipset|ipset"
  "conntrack|conntrack|conntrack"
  "gcc|gcc|gcc"
)
present() { command -v "$1" >/dev/null 2>&1 || [ -e "$1" ]; }
missing=()
for entry in "${DEBIAN[@]}"; do
  IFS='|' read -r name probe package <<<"$entry"
  present "$probe" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "cluster deps: missing ${missing[*]}; run as root" >&2; exit 1; }
  started=$SECONDS
  # The packages must not start system-wide services (etcd, containerd) on their default ports.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update >"$CACHE/apt-cluster.log" 2>&1 || { tail -n 20 "$CACHE/apt-cluster.log" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$CACHE/apt-cluster.log" 2>&1 \
    || { tail -n 20 "$CACHE/apt-cluster.log" >&2; exit 1; }
  echo "cluster deps: installed ${missing[*]} in $((SECONDS - started)) s"
fi
echo "cluster deps: debian packages present"
bash scripts/cluster/build-kubernetes.sh >/dev/null && echo "kubernetes: $(source scripts/cluster/versions.env; echo "$KUBERNETES_VERSION") ready"
bash scripts/cluster/build-coredns.sh >/dev/null && echo "coredns: ready"
bash scripts/cluster/build-kube-router.sh >/dev/null && echo "kube-router: ready"
bash scripts/images/base.sh node >/dev/null && echo "image base node: ready"
bash scripts/images/base.sh trial >/dev/null && echo "image base trial: ready"
