#!/usr/bin/env bash
# Starts the long-running services the tests share: the Docker engine. Does nothing when it already answers.
# (The registry, Envoy, Prometheus and the Kubernetes control plane are started per test session by fixtures.)
set -euo pipefail

log="${SHOPBOX_CACHE:-$HOME/.cache/shopbox}/dockerd.log"
mkdir -p "$(dirname "$log")"

if docker info >/dev/null 2>&1; then
  exit 0
fi
if ! command -v dockerd >/dev/null; then
  echo "start.sh: dockerd is not installed (run tests/platform/install.sh)" >&2
  exit 1
fi
echo "start.sh: starting dockerd (log: $log)"
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "start.sh: dockerd did not answer within 30 s; last log lines:" >&2
tail -n 20 "$log" >&2
exit 1
