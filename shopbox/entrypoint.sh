#!/usr/bin/env bash
# shopbox entrypoint: runs as root only long enough to
#   1. give the `shopbox` user the host user's uid (SHOPBOX_UID), so files in the mounted workspace keep
#      their owner;
#   2. add the user to the group that owns the mounted Docker socket (creating a group with that gid if the
#      image has none) -- the host's socket is never chowned or chmodded;
#   3. install the mounted kubeconfig (/run/shopbox/kubeconfig) as the user's ~/.kube/config;
#   4. with SHOPBOX_REGISTRY_FORWARD=PORT:HOST:HOSTPORT, forward 127.0.0.1:PORT to the registry container, so
#      localhost:5001 means the registry inside the shell as it does on the host;
#   5. with a seat's join file mounted (./shopbox.sh join FILE: /run/shopbox/join.yaml), give the user a copy
#      (SHOPBOX_JOIN), install the seat's kubeconfig as ~/.kube/config and the seat registry's credentials in
#      ~/.docker/config.json (classroom/joined/: shopbox-join);
# then execs the command as the user. Started with --user, it changes nothing and just runs the command.
# Either way it exports the names the exercise pages use (exercises/README.md, "Names"): REGISTRY, the registry
# the cluster pulls from, and SHOPBOX_EDGE_URL / SHOPBOX_PROMETHEUS_URL, the edge and Prometheus as a browser on
# the participant's machine reaches them (the host ports ./shopbox.sh publishes: SHOPBOX_EDGE_PORT,
# SHOPBOX_PROMETHEUS_PORT). A value already set (a classroom seat's) is kept.
set -euo pipefail

export REGISTRY=${REGISTRY:-${SHOPBOX_REGISTRY:-localhost:5001}}
export SHOPBOX_EDGE_URL=${SHOPBOX_EDGE_URL:-http://localhost:${SHOPBOX_EDGE_PORT:-8080}}
export SHOPBOX_PROMETHEUS_URL=${SHOPBOX_PROMETHEUS_URL:-http://localhost:${SHOPBOX_PROMETHEUS_PORT:-9090}}

user=shopbox
home=/home/$user
socket=/var/run/docker.sock
kubeconfig=/run/shopbox/kubeconfig
join=/run/shopbox/join.yaml

if [[ $(id -u) -ne 0 ]]; then
  exec "$@"
fi

if [[ ${SHOPBOX_UID:-0} =~ ^[0-9]+$ && ${SHOPBOX_UID:-0} -ne 0 && ${SHOPBOX_UID} -ne $(id -u "$user") ]]; then
  usermod --non-unique --uid "$SHOPBOX_UID" "$user"
fi

if [[ -S $socket ]]; then
  gid=$(stat -c %g "$socket")
  group=$(getent group "$gid" | cut -d: -f1 || true)
  if [[ -z $group ]]; then
    group=docker-host
    groupadd --gid "$gid" "$group"
  fi
  usermod --append --groups "$group" "$user"
  if ! setpriv --reuid="$user" --regid="$user" --init-groups test -w "$socket"; then
    echo "shopbox: warning: $socket (mode $(stat -c %a "$socket")) is not writable by its group;" \
      "docker commands will fail. See shopbox/README.md, 'Docker socket'." >&2
  fi
fi

if [[ -f $kubeconfig ]]; then
  install -d -o "$user" -g "$user" -m 0700 "$home/.kube"
  install -o "$user" -g "$user" -m 0600 "$kubeconfig" "$home/.kube/config"
fi

if [[ -f $join ]]; then
  install -d -o "$user" -g "$user" -m 0700 "$home/.shopbox" "$home/.kube"
  install -o "$user" -g "$user" -m 0600 "$join" "$home/.shopbox/join.yaml"
  export SHOPBOX_JOIN=$home/.shopbox/join.yaml
  shopbox-join kubeconfig "$SHOPBOX_JOIN" | install -o "$user" -g "$user" -m 0600 /dev/stdin "$home/.kube/config"
  setpriv --reuid="$user" --regid="$user" --init-groups env HOME="$home" shopbox-join docker-login "$SHOPBOX_JOIN"
fi

if [[ -n ${SHOPBOX_REGISTRY_FORWARD:-} ]]; then
  IFS=: read -r port target_host target_port <<<"$SHOPBOX_REGISTRY_FORWARD"
  setpriv --reuid="$user" --regid="$user" --init-groups \
    socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" "TCP:$target_host:$target_port" &
fi

if [[ $# -eq 0 || "$*" == bash ]]; then
  set -- bash
  /usr/local/lib/shopbox/welcome.sh
fi

export HOME=$home USER=$user LOGNAME=$user
exec setpriv --reuid="$user" --regid="$user" --init-groups "$@"
