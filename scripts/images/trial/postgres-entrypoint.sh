#!/bin/sh
# The trial PostgreSQL image's entrypoint: what the chart's trial StatefulSet expects of
# the official image. On first start it creates the cluster in $PGDATA with the user
# $POSTGRES_USER (password $POSTGRES_PASSWORD, scram-sha-256 over TCP) and the database
# $POSTGRES_DB; then it runs the server on every address. Runs as any uid that has a
# passwd entry (the base has 70, the chart's trial uid).
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
socket_dir=/var/run/postgresql
if [ "${1:-postgres}" != postgres ]; then exec "$@"; fi
[ "$#" -gt 0 ] && shift
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then echo "postgres-entrypoint: POSTGRES_PASSWORD is required" >&2; exit 1; fi
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  pwfile="$(mktemp)"
  printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    postgres --single -D "$PGDATA" -c "unix_socket_directories=$socket_dir" postgres <<SQL >/dev/null
CREATE DATABASE "$POSTGRES_DB" OWNER "$POSTGRES_USER";
SQL
  fi
  echo "postgres-entrypoint: created the cluster in $PGDATA"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c "unix_socket_directories=$socket_dir" "$@"
