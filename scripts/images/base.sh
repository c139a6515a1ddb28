#!/usr/bin/env bash
# Builds, once, the Debian base layers of the images from debian.lock with mmdebstrap
# (no image registry needed), cached as $OCIREG_CACHE/images/base-<name>-<key>/
# keyed by the lock line and this script. Prints "<layer.tar.gz> <diff id>" of the
# base asked for:
#   base.sh node     Node.js 20 (the five services)
#   base.sh trial    PostgreSQL 17, Redis, Java 21 (the chart's trial dependencies)
#   base.sh --relock re-resolves the top-level packages to what the suite serves now
# Each base has the users the images run as: 10001 (our services) and, in trial,
# 70 (PostgreSQL), 999 (Redis) and 1000 (Kafka, MinIO), as the chart's trial values expect.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
lock="$here/debian.lock"
suite="$(awk '$1 == "suite" { print $2 }' "$lock")"
mirror="$(awk '$1 == "mirror" { print $2 }' "$lock")"

need_mmdebstrap() {
  command -v mmdebstrap >/dev/null && return
  if [ "$(id -u)" -ne 0 ]; then echo "images: mmdebstrap is missing (apt-get install mmdebstrap, as root)" >&2; exit 1; fi
  echo "images: installing mmdebstrap (Debian package)" >&2
  apt-get install -y --no-install-recommends mmdebstrap >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y --no-install-recommends mmdebstrap >/dev/null; }
}

# users <rootfs> <name:uid> ...: adds system users (and their groups) unless the uid exists.
add_users() {
  local root="$1" entry name uid
  shift
  for entry in "$@"; do
    name="${entry%%:*}"; uid="${entry#*:}"
    if ! awk -F: -v u="$uid" '$3 == u { found = 1 } END { exit !found }' "$root/etc/passwd"; then
      echo "$name:x:$uid:$uid::/nonexistent:/usr/sbin/nologin" >>"$root/etc/passwd"
      echo "$name:*:0:0:99999:7:::" >>"$root/etc/shadow"
    fi
    if ! awk -F: -v u="$uid" '$3 == u { found = 1 } END { exit !found }' "$root/etc/group"; then
      echo "$name:x:$uid:" >>"$root/etc/group"
    fi
  done
}

# build_rootfs NAME PACKAGES... -> a directory with the root filesystem (printed)
build_rootfs() {
  local name="$1" dir
  shift
  need_mmdebstrap
  dir="$(mktemp -d "$IMAGES_CACHE/.rootfs-$name.XXXXXX")"
  local include
  include="$(IFS=,; echo "$*")"
  # essential: dpkg's Essential set plus the packages asked for, no apt; no documentation
  # (copyright files stay), no locales; apt lists and caches are not kept.
  if ! mmdebstrap --variant=essential --mode=root --format=directory \
      --include="$include" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
      --essential-hook='mkdir -p "$1/usr/share/man/man1"' \
      "$suite" "$dir" "$mirror" >"$dir.log" 2>&1; then
    echo "images: mmdebstrap of the $name base failed:" >&2
    tail -n 20 "$dir.log" >&2
    if grep -q "Version '.*' for '.*' was not found" "$dir.log"; then
      echo "images: a pinned version in $lock is no longer served by $suite; run: bash scripts/images/base.sh --relock" >&2
    fi
    rm -rf "$dir"
    exit 1
  fi
  rm -f "$dir.log"
  echo "$dir"
}

finish_rootfs() {
  local name="$1" dir="$2"
  add_users "$dir" ocireg:10001
  if [ "$name" = trial ]; then
    add_users "$dir" trial-postgres:70 trial-redis:999 trial-user:1000
    # What the packages' maintainer scripts generate at install time, differently on every build:
    # the default PostgreSQL cluster (the entrypoint makes its own in $PGDATA), the snakeoil
    # certificate and private key (no image should carry a private key) and Java's CA keystore
    # (the trial Kafka speaks plaintext only).
    rm -rf "$dir/var/lib/postgresql/17/main" "$dir/etc/postgresql/17/main"
    rm -f "$dir/etc/ssl/certs/ssl-cert-snakeoil.pem" "$dir/etc/ssl/private/ssl-cert-snakeoil.key" "$dir/etc/ssl/certs/java/cacerts"
  fi
  # Nothing of the build machine or the package manager's state that is not needed to run.
  rm -rf "$dir"/dev/* "$dir"/usr/share/man "$dir"/var/cache/* "$dir"/var/lib/apt/lists/* "$dir"/var/log/* "$dir"/tmp/* "$dir"/run/*
  rm -f "$dir/etc/machine-id" "$dir/etc/hostname" "$dir/etc/resolv.conf" "$dir/etc/hosts"
  mkdir -p "$dir/usr/share/ocireg"
  chroot "$dir" dpkg-query -W -f '${Package}=${Version}\n' | LC_ALL=C sort >"$dir/usr/share/ocireg/packages.txt"
}

relock() {
  local name dir pkgs resolved p
  for name in node trial; do
    read -r -a pkgs <<<"$(awk -v n="$name" '$1 == n { $1 = ""; print }' "$lock")"
    dir="$(build_rootfs "$name" "${pkgs[@]%%=*}")"
    resolved=()
    for p in "${pkgs[@]%%=*}"; do resolved+=("$p=$(chroot "$dir" dpkg-query -W -f '${Version}' "$p")"); done
    rm -rf "$dir"
    sed -i "s|^$name .*|$name ${resolved[*]}|" "$lock"
    echo "images: $name -> ${resolved[*]}" >&2
  done
}

base() {
  local name="$1" line key dir started
  line="$(awk -v n="$name" '$1 == n' "$lock")"
  [ -n "$line" ] || { echo "images: no base named '$name' in $lock" >&2; exit 2; }
  key="$( { echo "$suite $mirror $line"; cat "$here/base.sh" "$here/lib.sh"; } | sha256sum | cut -c1-16)"
  dir="$IMAGES_CACHE/base-$name-$key"
  if [ ! -f "$dir/layer" ]; then
    started=$SECONDS
    echo "images: building the $name base from Debian $suite packages (about a minute, once)" >&2
    mkdir -p "$IMAGES_CACHE"
    read -r -a pkgs <<<"${line#* }"
    root="$(build_rootfs "$name" "${pkgs[@]}")"
    finish_rootfs "$name" "$root"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    cp "$root/usr/share/ocireg/packages.txt" "$dir.tmp/packages.txt"
    layer_from_dir "$root" >"$dir.tmp/layer"
    rm -rf "$root"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
    echo "images: $name base built in $((SECONDS - started)) s ($(wc -l <"$dir/packages.txt") packages)" >&2
  fi
  cat "$dir/layer"
}

case "${1:-}" in
  --relock) relock ;;
  node|trial) base "$1" ;;
  *) echo "usage: $0 node|trial|--relock" >&2; exit 2 ;;
esac
