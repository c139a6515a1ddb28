#!/usr/bin/env bash
# A single-node Kubernetes cluster made of local processes, for the chart's tests and
# `skaffold run -p local`. Needs root (network namespaces, a bridge, iptables, cgroups).
#
#   cluster.sh up        start it (idempotent: a healthy running cluster is reused)
#   cluster.sh down      stop it and remove every trace: pods, mounts, network, iptables, cgroups
#   cluster.sh env       print the variables to use it (KUBECONFIG, CONTAINERD_ADDRESS, ...)
#   cluster.sh status    exit 0 when it runs and its node is Ready
#   cluster.sh reclaim-volumes   make released PersistentVolumes available again (wiped)
#   cluster.sh containerd-address   print the node's containerd socket
#
# Parts: etcd (Debian), kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
# kube-proxy (iptables mode) built from the k8s.io/kubernetes module (build-kubernetes.sh),
# containerd and runc (Debian), the bridge CNI plugin (Debian's containernetworking-plugins),
# kube-router as the NetworkPolicy controller when built (build-kube-router.sh),
# and CoreDNS (build-coredns.sh) as a host process answering cluster.local on the node
# address. Everything lives in $OCIREG_CLUSTER_DIR (default /tmp/ocireg-cluster);
# binaries are cached in $OCIREG_CACHE.
#
# Addresses: the node is 10.246.0.1 on the bridge ocik0 that this script creates; pods get
# 10.246.0.0/24, Services 10.246.128.0/24. Nothing is reachable from outside the machine,
# and pods cannot reach anything but the node and each other: a guard chain drops pod
# traffic forwarded anywhere else, and Service addresses that kube-proxy did not translate.
# One cluster per machine (a lock in the cluster directory's parent).
set -Eeuo pipefail
trap 'echo "cluster: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
source "$here/versions.env"
CACHE="${OCIREG_CACHE:-$HOME/.cache/ocireg}"
D="${OCIREG_CLUSTER_DIR:-/tmp/ocireg-cluster}"
NODE=ocireg-node
BRIDGE=ocik0
NODE_IP=10.246.0.1
POD_CIDR=10.246.0.0/24
SERVICE_CIDR=10.246.128.0/24
API_SERVICE_IP=10.246.128.1
API_PORT=6443
ETCD_PORT=12379
ETCD_PEER_PORT=12380
GUARD=OCIREG-CLUSTER-GUARD
VOLUMES=8

log() { echo "cluster: $*" >&2; }
die() { echo "cluster: $*" >&2; exit 1; }

kube_bin() { echo "$CACHE/kubernetes-$KUBERNETES_VERSION"; }
kubectl() { "$(kube_bin)/kubectl" --kubeconfig "$D/admin.kubeconfig" "$@"; }

print_env() {
  echo "export KUBECONFIG=$D/admin.kubeconfig"
  echo "export CONTAINERD_ADDRESS=$D/containerd/containerd.sock"
  echo "export OCIREG_CLUSTER_NODE_IP=$NODE_IP"
  echo "export OCIREG_CLUSTER_POD_CIDR=$POD_CIDR"
  echo "export PATH=$(kube_bin):\$PATH"
}

running() { # name -> pid is alive
  local pidfile="$D/run/$1.pid"
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

start_daemon() { # name command... (output in $D/logs/<name>.log)
  local name="$1"
  shift
  if running "$name"; then return; fi
  setsid "$@" >>"$D/logs/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$D/run/$name.pid"
}

wait_for() { # what seconds command...
  local what="$1" seconds="$2" deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ] || { [ -f "$D/run/${what%% *}.pid" ] && ! running "${what%% *}"; }; then
      log "$what did not come up (waited up to ${seconds} s); the end of its log:"
      tail -n 25 "$D/logs/${what%% *}.log" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.5
  done
}

# --- prerequisites ------------------------------------------------------------
check_host() {
  [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, a bridge, iptables and cgroups)"
  local missing=() c
  for c in etcd containerd runc iptables ipset conntrack ip openssl; do command -v "$c" >/dev/null || missing+=("$c"); done
  [ -x /usr/lib/cni/bridge ] || missing+=("/usr/lib/cni/bridge")
  [ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}: run scripts/cluster/deps.sh (Debian packages etcd-server, containerd, runc, containernetworking-plugins, ipset, conntrack)"
  [ -d /sys/fs/cgroup/memory ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || die "no cgroup hierarchy at /sys/fs/cgroup"
  for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    [ -x "$(kube_bin)/$c" ] || die "$(kube_bin)/$c is missing: run scripts/cluster/deps.sh"
  done
  [ -x "$CACHE/coredns-$COREDNS_VERSION/coredns" ] || die "CoreDNS $COREDNS_VERSION is missing: run scripts/cluster/deps.sh"
}

# --- certificates ---------------------------------------------------------------
cert() { # name CN O [sans]
  local name="$1" cn="$2" org="$3" sans="${4:-}" subj="/CN=$2"
  [ -n "$org" ] && subj="/O=$org/CN=$cn"
  openssl ecparam -name prime256v1 -genkey -noout -out "$D/pki/$name.key" 2>/dev/null
  openssl req -new -key "$D/pki/$name.key" -subj "$subj" -out "$D/pki/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$sans" ]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$sans"; else echo "extendedKeyUsage=clientAuth"; fi
  } >"$D/pki/$name.ext"
  openssl x509 -req -in "$D/pki/$name.csr" -CA "$D/pki/ca.crt" -CAkey "$D/pki/ca.key" -CAcreateserial \
    -days 365 -sha256 -extfile "$D/pki/$name.ext" -out "$D/pki/$name.crt" 2>/dev/null
  rm -f "$D/pki/$name.csr" "$D/pki/$name.ext"
}

kubeconfig() { # name cert
  local name="$1" c="$2"
  cat >"$D/$name.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: ocireg-local
    cluster: { server: "https://$NODE_IP:$API_PORT", certificate-authority: "$D/pki/ca.crt" }
users:
  - name: $name
    user: { client-certificate: "$D/pki/$c.crt", client-key: "$D/pki/$c.key" }
contexts:
  - name: ocireg-local
    context: { cluster: ocireg-local, user: $name }
current-context: ocireg-local
EOF
}

make_pki() {
  [ -f "$D/pki/ca.crt" ] && return
  mkdir -p "$D/pki"
  openssl ecparam -name prime256v1 -genkey -noout -out "$D/pki/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$D/pki/ca.key" -subj "/CN=ocireg-local-ca" -days 365 -sha256 -out "$D/pki/ca.crt" 2>/dev/null
  cert apiserver kube-apiserver "" "IP:$NODE_IP,IP:$API_SERVICE_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  cert admin ocireg-admin system:masters
  cert controller-manager system:kube-controller-manager ""
  cert scheduler system:kube-scheduler ""
  cert kube-proxy system:kube-proxy ""
  cert kubelet "system:node:$NODE" system:nodes "IP:$NODE_IP,DNS:$NODE"
  openssl genrsa -out "$D/pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$D/pki/sa.key" -pubout -out "$D/pki/sa.pub" 2>/dev/null
  kubeconfig admin admin
  kubeconfig controller-manager controller-manager
  kubeconfig scheduler scheduler
  kubeconfig kube-proxy kube-proxy
  kubeconfig kubelet kubelet
}

# --- network --------------------------------------------------------------------
network_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$NODE_IP/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  # Bridged pod traffic goes through iptables (Services, NetworkPolicies); pods reach Services through the node.
  echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
  [ -f "$D/run/route_localnet.restore" ] || cat /proc/sys/net/ipv4/conf/all/route_localnet >"$D/run/route_localnet.restore"
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || { echo 1 >/proc/sys/net/ipv4/ip_forward; echo 0 >"$D/run/ip_forward.restore"; }
  # The guard: pods reach only pods and the node; Service addresses never leave untranslated.
  iptables -N "$GUARD" 2>/dev/null || iptables -F "$GUARD"
  iptables -A "$GUARD" -d "$SERVICE_CIDR" -j REJECT
  iptables -A "$GUARD" -s "$POD_CIDR" ! -d "$POD_CIDR" -j REJECT
  iptables -A "$GUARD" -d "$POD_CIDR" ! -s "$POD_CIDR" ! -i "$BRIDGE" -o "$BRIDGE" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j REJECT
  iptables -C FORWARD -j "$GUARD" 2>/dev/null || iptables -I FORWARD 1 -j "$GUARD"
  iptables -N "$GUARD-OUT" 2>/dev/null || iptables -F "$GUARD-OUT"
  iptables -A "$GUARD-OUT" -d "$SERVICE_CIDR" -j REJECT
  iptables -C OUTPUT -j "$GUARD-OUT" 2>/dev/null || iptables -I OUTPUT 1 -j "$GUARD-OUT"
  mkdir -p "$D/cni/net.d" "$D/cni/ipam"
  cat >"$D/cni/net.d/10-ocireg.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ocireg",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "dataDir": "$D/cni/ipam", "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$NODE_IP" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
}

# --- the parts ------------------------------------------------------------------
start_etcd() {
  mkdir -p "$D/etcd"
  start_daemon etcd etcd --name "$NODE" --data-dir "$D/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "$NODE=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --quota-backend-bytes 2147483648
  wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"
}

start_apiserver() {
  start_daemon kube-apiserver "$(kube_bin)/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address "$NODE_IP" --secure-port "$API_PORT" --advertise-address "$NODE_IP" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --client-ca-file "$D/pki/ca.crt" --tls-cert-file "$D/pki/apiserver.crt" --tls-private-key-file "$D/pki/apiserver.key" \
    --kubelet-client-certificate "$D/pki/apiserver-kubelet-client.crt" --kubelet-client-key "$D/pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$D/pki/ca.crt" --kubelet-preferred-address-types InternalIP \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$D/pki/sa.pub" --service-account-signing-key-file "$D/pki/sa.key" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --allow-privileged=true --profiling=false --event-ttl 30m
  wait_for kube-apiserver 90 curl -sf --cacert "$D/pki/ca.crt" --cert "$D/pki/admin.crt" --key "$D/pki/admin.key" "https://$NODE_IP:$API_PORT/readyz"
}

start_controllers() {
  start_daemon kube-controller-manager "$(kube_bin)/kube-controller-manager" \
    --kubeconfig "$D/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$D/controller-manager.kubeconfig" --authorization-kubeconfig "$D/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file "$D/pki/sa.key" --root-ca-file "$D/pki/ca.crt" \
    --cluster-signing-cert-file "$D/pki/ca.crt" --cluster-signing-key-file "$D/pki/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --cluster-cidr "$POD_CIDR" --allocate-node-cidrs=true --node-cidr-mask-size 24 \
    --controllers '*,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller' \
    --concurrent-deployment-syncs 10 --node-monitor-grace-period 40s
  start_daemon kube-scheduler "$(kube_bin)/kube-scheduler" \
    --kubeconfig "$D/scheduler.kubeconfig" \
    --authentication-kubeconfig "$D/scheduler.kubeconfig" --authorization-kubeconfig "$D/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false
}

start_containerd() {
  mkdir -p "$D/containerd" "$D/runc"
  cat >"$D/containerd/config.toml" <<EOF
version = 2
root = "$D/containerd/root"
state = "$D/containerd/state"
[grpc]
  address = "$D/containerd/containerd.sock"
[ttrpc]
  address = "$D/containerd/containerd.sock.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/library/ocireg-pause:3.10"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # This machine refuses negative oom_score_adj values even to root: clamp them to containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$D/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$D/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
EOF
  start_daemon containerd containerd --config "$D/containerd/config.toml"
  wait_for containerd 30 ctr --address "$D/containerd/containerd.sock" version
  load_pause_image
}

# The sandbox ("pause") image: Kubernetes' own pause.c (from the k8s.io/kubernetes module),
# linked statically, alone in an image; no registry needed.
load_pause_image() {
  local sock="$D/containerd/containerd.sock" dir="$CACHE/pause-$KUBERNETES_VERSION"
  if ctr --address "$sock" -n k8s.io images ls -q | grep -qx "docker.io/library/ocireg-pause:3.10"; then return; fi
  if [ ! -f "$dir/pause.oci.tar" ]; then
    local src
    src="$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/build/pause/linux/pause.c"
    [ -f "$src" ] || die "pause.c not found in the k8s.io/kubernetes module ($src)"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/root" "$dir.tmp/oci"
    gcc -Os -static -DVERSION="v3.10-ocireg" -o "$dir.tmp/root/pause" "$src"
    strip "$dir.tmp/root/pause"
    source "$repo/scripts/images/lib.sh"
    local layer
    layer="$(layer_from_dir "$dir.tmp/root")"
    read -r lpath ldiff <<<"$layer"
    node "$repo/scripts/images/oci-layout.mjs" >/dev/null <<EOF
{"layout":"$dir.tmp/oci","created":"1970-01-01T00:00:00Z","images":[{"names":["docker.io/library/ocireg-pause:3.10"],"layers":[{"path":"$lpath","diffId":"$ldiff"}],"config":{"Entrypoint":["/pause"],"User":"65535:65535"}}]}
EOF
    tar -C "$dir.tmp/oci" -cf "$dir.tmp/pause.oci.tar" .
    rm -rf "$dir"
    mkdir -p "$dir"
    mv "$dir.tmp/pause.oci.tar" "$dir/pause.oci.tar"
    rm -rf "$dir.tmp"
  fi
  ctr --address "$sock" -n k8s.io images import "$dir/pause.oci.tar" >/dev/null
  # The kubelet must never garbage-collect it.
  ctr --address "$sock" -n k8s.io images label docker.io/library/ocireg-pause:3.10 io.cri-containerd.pinned=pinned >/dev/null
}

start_kubelet() {
  mkdir -p "$D/kubelet" "$D/pod-logs"
  : >"$D/kubelet/resolv.conf"
  cat >"$D/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: "$D/pki/ca.crt" }
authorization: { mode: Webhook }
tlsCertFile: "$D/pki/kubelet.crt"
tlsPrivateKeyFile: "$D/pki/kubelet.key"
containerRuntimeEndpoint: "unix://$D/containerd/containerd.sock"
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDomain: cluster.local
clusterDNS: ["$NODE_IP"]
resolvConf: "$D/kubelet/resolv.conf"
podLogsDir: "$D/pod-logs"
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%" }
evictionPressureTransitionPeriod: 30s
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 5s
maxPods: 60
protectKernelDefaults: false
makeIPTablesUtilChains: false
localStorageCapacityIsolation: true
EOF
  start_daemon kubelet "$(kube_bin)/kubelet" --config "$D/kubelet/config.yaml" --kubeconfig "$D/kubelet.kubeconfig" \
    --root-dir "$D/kubelet" --cert-dir "$D/kubelet/pki" --hostname-override "$NODE" --node-ip "$NODE_IP" --v 1
  wait_for kubelet 90 node_ready
}

node_ready() {
  [ "$(kubectl get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

start_proxy() {
  cat >"$D/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: "$D/kube-proxy.kubeconfig" }
mode: iptables
hostnameOverride: $NODE
clusterCIDR: $POD_CIDR
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# NodePorts answer on the node address and on loopback (docker treats 127.0.0.1 registries as insecure).
nodePortAddresses: ["127.0.0.1/32", "$NODE_IP/32"]
iptables: { localhostNodePorts: true, masqueradeAll: false, syncPeriod: 10s, minSyncPeriod: 0s }
conntrack: { maxPerCore: 0, min: 0 }
EOF
  start_daemon kube-proxy "$(kube_bin)/kube-proxy" --config "$D/kube-proxy.yaml"
  wait_for kube-proxy 60 curl -sf http://127.0.0.1:10256/healthz
}

start_coredns() {
  cat >"$D/Corefile" <<EOF
.:53 {
    bind $NODE_IP
    errors
    health 127.0.0.1:18053
    ready 127.0.0.1:18054
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $D/admin.kubeconfig ocireg-local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
EOF
  start_daemon coredns "$CACHE/coredns-$COREDNS_VERSION/coredns" -conf "$D/Corefile"
  wait_for coredns 60 curl -sf http://127.0.0.1:18054/ready
}

# NetworkPolicies: kube-router's firewall alone (no routing, no service proxy), when built.
start_network_policies() {
  local bin="$CACHE/kube-router-$KUBE_ROUTER_VERSION/kube-router"
  if [ ! -x "$bin" ]; then
    log "kube-router is not built: NetworkPolicies are NOT enforced (scripts/cluster/deps.sh builds it)"
    return
  fi
  start_daemon kube-router "$bin" --kubeconfig "$D/admin.kubeconfig" --hostname-override "$NODE" \
    --run-firewall=true --run-router=false --run-service-proxy=false --run-loadbalancer=false \
    --enable-cni=false --enable-ipv6=false --enable-ipv4=true --health-port 20244 --metrics-port 0 \
    --iptables-sync-period 30s --enable-pod-egress=false --service-cluster-ip-range "$SERVICE_CIDR" --v 1
  wait_for kube-router 60 curl -sf http://127.0.0.1:20244/healthz
  echo enforced >"$D/run/network-policies"
}

# Static hostPath volumes (no class) for the StatefulSets' claims: directories anyone may write
# to, since fsGroup does not apply to hostPath.
make_volumes() {
  local i manifest=""
  for i in $(seq 1 "$VOLUMES"); do
    mkdir -p "$D/volumes/pv-$i"
    chmod 1777 "$D/volumes/pv-$i"
    manifest+="---
apiVersion: v1
kind: PersistentVolume
metadata: { name: ocireg-local-pv-$i, labels: { ocireg.dev/local-volume: \"true\" } }
spec:
  capacity: { storage: 20Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: { path: $D/volumes/pv-$i, type: Directory }
"
  done
  kubectl apply -f - >/dev/null <<<"$manifest"
}

reclaim_volumes() {
  local pv path
  for pv in $(kubectl get pv -l ocireg.dev/local-volume=true -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{"\n"}{end}'); do
    path="$(kubectl get pv "$pv" -o jsonpath='{.spec.hostPath.path}')"
    case "$path" in "$D"/volumes/pv-*) find "$path" -mindepth 1 -delete ;; *) die "refusing to wipe $path" ;; esac
    kubectl patch pv "$pv" --type json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null
  done
}

up() {
  check_host
  mkdir -p "$(dirname "$D")"
  exec 9>"$(dirname "$D")/.ocireg-cluster.lock"
  flock -n 9 || die "another 'cluster.sh up' or 'down' runs right now"
  if [ -f "$D/run/up-complete" ] && running kube-apiserver && running kubelet && node_ready; then
    log "already running in $D"
    return
  fi
  if [ -f "$D/run/dir" ]; then
    log "an earlier cluster in $D did not start completely or has stopped: removing it first"
    down_locked
  fi
  local other
  other="$(cat /run/ocireg-cluster.dir 2>/dev/null || true)"
  if [ -n "$other" ] && [ "$other" != "$D" ] && [ -d "$other/run" ]; then
    die "a cluster from $other is on this machine (one per machine: the bridge, addresses and iptables are shared); stop it with OCIREG_CLUSTER_DIR=$other $0 down"
  fi
  if ip link show "$BRIDGE" >/dev/null 2>&1 && [ ! -f "$D/run/dir" ]; then
    die "the bridge $BRIDGE exists but no cluster state is in $D: run '$0 down' to clean up first"
  fi
  local started=$SECONDS
  mkdir -p "$D/run" "$D/logs"
  echo "$D" >"$D/run/dir"
  echo "$D" >/run/ocireg-cluster.dir
  make_pki
  network_up
  start_etcd
  start_apiserver
  start_controllers
  start_containerd
  start_kubelet
  start_proxy
  start_coredns
  start_network_policies
  make_volumes
  wait_for "kube-controller-manager" 60 kubectl get serviceaccount default -n default
  touch "$D/run/up-complete"
  log "up in $((SECONDS - started)) s: export KUBECONFIG=$D/admin.kubeconfig"
}

kill_pidfile() { # name [signal]
  local pidfile="$D/run/$1.pid" pid i
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "-${2:-TERM}" "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# Every process in the kubelet's cgroups (the pods' containers), by pid.
kill_pods() {
  local h pids
  for h in /sys/fs/cgroup/*/kubepods; do
    [ -d "$h" ] || continue
    pids="$( { find "$h" -name cgroup.procs -exec cat {} + 2>/dev/null || true; } | sort -u)"
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  done
}

remove_cgroups() {
  local h
  for h in /sys/fs/cgroup/*/kubepods; do
    [ -d "$h" ] || continue
    find "$h" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

down() {
  [ "$(id -u)" -eq 0 ] || die "needs root"
  mkdir -p "$(dirname "$D")"
  exec 9>"$(dirname "$D")/.ocireg-cluster.lock"
  flock -w 60 9 || die "another 'cluster.sh' runs right now"
  down_locked
}

down_locked() {
  local sock="$D/containerd/containerd.sock" pid
  for c in kube-router coredns kube-proxy kubelet kube-scheduler kube-controller-manager; do kill_pidfile "$c"; done
  kill_pods
  # containerd's shims for our socket (their command line names it), by pid.
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $sock" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
  kill_pidfile containerd
  kill_pidfile kube-apiserver
  kill_pidfile etcd
  # kube-proxy's and kube-router's rules, then ours.
  [ -x "$(kube_bin)/kube-proxy" ] && "$(kube_bin)/kube-proxy" --cleanup >/dev/null 2>&1 || true
  # kube-router's jumps carry comments: delete them as iptables-save prints them.
  local rule
  while read -r rule; do
    [ -n "$rule" ] && eval "iptables ${rule/#-A/-D}" 2>/dev/null || true
  done < <(iptables-save -t filter 2>/dev/null | grep -E '^-A (INPUT|FORWARD|OUTPUT) .*-j KUBE-ROUTER-' || true)
  local chain set
  for chain in $(iptables-save -t filter 2>/dev/null | sed -n 's/^:\(KUBE-[A-Z0-9-]*\) .*/\1/p' || true); do
    case "$chain" in KUBE-ROUTER*|KUBE-POD-FW-*|KUBE-NWPLCY-*|KUBE-SRC-*|KUBE-DST-*) iptables -F "$chain" 2>/dev/null || true ;; esac
  done
  for chain in $(iptables-save -t filter 2>/dev/null | sed -n 's/^:\(KUBE-[A-Z0-9-]*\) .*/\1/p' || true); do
    case "$chain" in KUBE-ROUTER*|KUBE-POD-FW-*|KUBE-NWPLCY-*|KUBE-SRC-*|KUBE-DST-*) iptables -X "$chain" 2>/dev/null || true ;; esac
  done
  for set in $(ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router-)' || true); do ipset destroy "$set" 2>/dev/null || true; done
  # KUBE-FIREWALL (the kubelet's and kube-proxy's guard for localhost NodePorts).
  for parent in INPUT OUTPUT; do while iptables -D "$parent" -j KUBE-FIREWALL 2>/dev/null; do :; done; done
  iptables -F KUBE-FIREWALL 2>/dev/null || true; iptables -X KUBE-FIREWALL 2>/dev/null || true
  [ -f "$D/run/route_localnet.restore" ] && cat "$D/run/route_localnet.restore" >/proc/sys/net/ipv4/conf/all/route_localnet
  while iptables -D FORWARD -j "$GUARD" 2>/dev/null; do :; done
  while iptables -D OUTPUT -j "$GUARD-OUT" 2>/dev/null; do :; done
  iptables -F "$GUARD" 2>/dev/null || true; iptables -X "$GUARD" 2>/dev/null || true
  iptables -F "$GUARD-OUT" 2>/dev/null || true; iptables -X "$GUARD-OUT" 2>/dev/null || true
  # Mounts under the cluster directory (pod volumes, container root filesystems, network namespaces).
  if [ -d "$D" ]; then
    local m
    for m in $(awk -v d="$D/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
  fi
  # The pods' network namespaces (containerd names them cni-<uuid> under /var/run/netns): those
  # holding an address of the pod network.
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ { print $1 }' || true); do
    if ip -n "$ns" -4 -o addr show 2>/dev/null | grep -q " ${POD_CIDR%.*}\."; then ip netns delete "$ns" 2>/dev/null || true; fi
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  remove_cgroups
  [ -f "$D/run/ip_forward.restore" ] && cat "$D/run/ip_forward.restore" >/proc/sys/net/ipv4/ip_forward
  [ "$(cat /run/ocireg-cluster.dir 2>/dev/null || true)" = "$D" ] && rm -f /run/ocireg-cluster.dir
  rm -rf "$D"
  log "down; $D removed"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) print_env ;;
  status) [ -f "$D/run/up-complete" ] && running kube-apiserver && running kubelet && node_ready ;;
  reclaim-volumes) reclaim_volumes ;;
  containerd-address) echo "$D/containerd/containerd.sock" ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
