#!/bin/sh
# The trial Redis image's entrypoint: like the official image, a redis-server started
# without a config file listens on every address with protected mode off (the
# NetworkPolicies decide who reaches it).
set -eu
if [ "${1:-}" = redis-server ]; then
  shift
  exec redis-server --bind '* -::*' --protected-mode no "$@"
fi
exec "$@"
