#!/usr/bin/env bash
# Builds, once, the Kubernetes commands the local cluster runs (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl) from the
# k8s.io/kubernetes Go module, into $OCIREG_CACHE/kubernetes-<version>/, and
# prints that directory. The module zip leaves out staging/src, so its
# `k8s.io/* => ./staging/src/k8s.io/*` replaces are pointed at the published
# modules of the same release (k8s.io/api v0.34.2 for v1.34.2, ...), and vendor/
# and go.work are dropped. About 10-15 minutes on 2 cores the first time.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/cluster/versions.env
CACHE="${OCIREG_CACHE:-$HOME/.cache/ocireg}"
V="$KUBERNETES_VERSION"
out="$CACHE/kubernetes-$V"
COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

complete() { for c in "${COMMANDS[@]}"; do [ -x "$out/$c" ] || return 1; done; }
if complete; then echo "$out"; exit 0; fi

started=$SECONDS
echo "kubernetes $V: building ${COMMANDS[*]} from the k8s.io/kubernetes module (10-15 minutes, once)" >&2
export GOFLAGS=-mod=mod
src="$CACHE/kubernetes-src-$V"
rm -rf "$src" "$out.tmp"
mod_dir="$(go mod download -json "k8s.io/kubernetes@$V" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -d "$mod_dir" ] || { echo "kubernetes $V: go mod download gave no directory" >&2; exit 1; }
cp -r "$mod_dir" "$src"
chmod -R u+w "$src"
cd "$src"
rm -rf vendor go.work go.work.sum
# staging modules: k8s.io/<name> v0.<minor>.<patch>
staging_version="v0.${V#v1.}"
mapfile -t replaces < <(go mod edit -json | node -e '
  const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const r of m.Replace || []) if (r.New.Path.startsWith("./staging/")) console.log(`-replace=${r.Old.Path}=${r.Old.Path}@'"$staging_version"'`);
')
[ ${#replaces[@]} -gt 10 ] || { echo "kubernetes $V: expected the staging replaces in go.mod, found ${#replaces[@]}" >&2; exit 1; }
go mod edit "${replaces[@]}"
major="${V#v}"; major="${major%%.*}"
minor="${V#v*.}"; minor="${minor%%.*}"
ldflags="-s -w"
for k in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $k.gitVersion=$V -X $k.gitMajor=$major -X $k.gitMinor=$minor -X $k.gitTreeState=clean -X $k.buildDate=1970-01-01T00:00:00Z"
done
mkdir -p "$out.tmp"
pkgs=(); for c in "${COMMANDS[@]}"; do pkgs+=("./cmd/$c"); done
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp/" "${pkgs[@]}" >&2
"$out.tmp/kubelet" --version >&2
cd - >/dev/null
rm -rf "$out"
mv "$out.tmp" "$out"
rm -rf "$src"
echo "kubernetes $V: built in $((SECONDS - started)) s" >&2
echo "$out"
