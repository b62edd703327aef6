#!/bin/sh
# PostgreSQL 15 in the compose stack, from the base image's Debian packages (no registry: no postgres image to pull).
# Runs as root only to hand the data volume to the postgres user; first start: initdb with scram-sha-256 for TCP, a
# `skyweave` role and database owned by it (password POSTGRES_PASSWORD); then the server on all interfaces.
set -eu
bin=/usr/lib/postgresql/15/bin
: "${PGDATA:?}" "${POSTGRES_PASSWORD:?}"
mkdir -p "$PGDATA"
chown postgres:postgres "$PGDATA"
chmod 700 "$PGDATA"
as_pg() { runuser -u postgres -- "$@"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pw=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pw"
  chown postgres "$pw"
  as_pg "$bin/initdb" -D "$PGDATA" -U postgres --pwfile="$pw" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pw"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  as_pg "$bin/pg_ctl" -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/tmp" -w start >/dev/null
  # the password as a literal: double any single quote
  sqlpw=$(printf '%s' "$POSTGRES_PASSWORD" | sed "s/'/''/g")
  as_pg psql -h /tmp -v ON_ERROR_STOP=1 -q -c "CREATE ROLE skyweave LOGIN PASSWORD '$sqlpw'" -c "CREATE DATABASE skyweave OWNER skyweave"
  as_pg "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec runuser -u postgres -- "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp
