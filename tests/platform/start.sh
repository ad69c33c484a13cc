#!/usr/bin/env bash
# Starts the long-running services the tests share: the Docker engine. Does nothing when it already answers with
# the configuration below. (The registry, Envoy, Prometheus and the Kubernetes control planes are started per test
# session by fixtures.)
#
# Accommodations of these test VMs, not needed on participants' machines (see tests/README.md, "kind here"):
# - the VM's capability bounding set lacks CAP_SYS_RESOURCE, so `docker run --privileged` (every kind node) fails;
#   when a capability is missing, tests/platform/runc_capfilter.py becomes dockerd's default runtime;
# - the inotify limits are raised to what kind documents (524288 watches, 512 instances);
# - qemu's aarch64 interpreter is registered with binfmt_misc (binfmt_arm64.sh), so arm64 images run here.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log="${SHOPBOX_CACHE:-$HOME/.cache/shopbox}/dockerd.log"
daemon_json=/etc/docker/daemon.json
wrapper=/usr/local/libexec/shopbox/runc-capfilter
runtime_name=shopbox-capfilter
mkdir -p "$(dirname "$log")"

# All 41 capabilities (0..40) in the bounding set?
full_capabilities() {
  local mask
  mask=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  (( (16#$mask & 0x1ffffffffff) == 0x1ffffffffff ))
}

want_runtime=""
if ! full_capabilities; then
  want_runtime=$runtime_name
  mkdir -p "$(dirname "$wrapper")" /etc/docker
  install -m 0755 "$here/runc_capfilter.py" "$wrapper"
  python3 - "$daemon_json" "$runtime_name" "$wrapper" <<'PY'
import json, os, sys
path, name, wrapper = sys.argv[1:]
config = json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else {}
config.setdefault("runtimes", {})[name] = {"path": wrapper}
config["default-runtime"] = name
with open(path + ".tmp", "w") as f:
    json.dump(config, f, indent=2)
os.replace(path + ".tmp", path)
PY
fi

for key in max_user_watches:524288 max_user_instances:512; do
  file=/proc/sys/fs/inotify/${key%%:*}
  if [[ -w $file ]] && (($(cat "$file") < ${key##*:})); then
    echo "${key##*:}" >"$file"
  fi
done

bash "$here/binfmt_arm64.sh"

if docker info >/dev/null 2>&1; then
  current=$(docker info --format '{{.DefaultRuntime}}')
  if [[ -z $want_runtime || $current == "$want_runtime" ]]; then
    exit 0
  fi
  echo "start.sh: restarting dockerd to make $want_runtime its default runtime (was $current)"
  pkill -x dockerd || true
  for _ in $(seq 1 60); do
    pgrep -x dockerd >/dev/null || break
    sleep 0.5
  done
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
