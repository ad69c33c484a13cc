#!/bin/bash
# The postgres:17.6-bookworm stand-in's entrypoint (tests/kind/standins.py): what the official image's
# docker-entrypoint.sh does for the env and mounts postgres/k8s uses, no more. Any non-root uid (a passwd entry
# faked with nss_wrapper, as the official image does); on an empty PGDATA: initdb with POSTGRES_USER as the
# superuser and POSTGRES_PASSWORD (scram-sha-256 over TCP, trust on the local socket), POSTGRES_DB created;
# then the server in the foreground, listening on every address.
set -euo pipefail

: "${PGDATA:?PGDATA is not set}"
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set (the official image refuses to start without it too)}"
user=${POSTGRES_USER:-postgres}
database=${POSTGRES_DB:-$user}

if ! getent passwd "$(id -u)" >/dev/null; then
  export NSS_WRAPPER_PASSWD=/tmp/passwd NSS_WRAPPER_GROUP=/tmp/group LD_PRELOAD=libnss_wrapper.so
  echo "postgres:x:$(id -u):$(id -g):PostgreSQL:$PGDATA:/bin/false" >"$NSS_WRAPPER_PASSWD"
  echo "postgres:x:$(id -g):" >"$NSS_WRAPPER_GROUP"
fi

mkdir -p "$PGDATA"
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 -D "$PGDATA"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$database" != postgres ]; then
    echo "CREATE DATABASE \"$database\" OWNER \"$user\";" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
fi
unset NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP LD_PRELOAD
exec postgres -D "$PGDATA" "$@"
