#!/usr/bin/env bash
# Build promtool and the prometheus server of the Prometheus version pinned in versions.env (PROMETHEUS_IMAGE),
# with Kubernetes discovery, into ${SHOPBOX_CACHE:-~/.cache/shopbox}/prometheus-<version>/: promtool for
# test_prometheus_config.py, the server for the stand-in of the Prometheus image that the `workshop` tier loads
# into its kind cluster (tests/kind/workshop_images.py; no image can be pulled here).
# Debian's Prometheus (2.42) is built without Kubernetes discovery, so it cannot check or run the cluster's
# prometheus.yml. Idempotent: nothing to do once built. Needs Go and the Go module proxy; takes minutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
image="$(sed -n 's/^PROMETHEUS_IMAGE=//p' "$root/versions.env")"
version="${image##*:v}"
version="${version%%@*}"
IFS=. read -r major minor patch <<<"$version"
module_version="v0.$((major * 100 + minor)).$patch" # Prometheus 3.16.0 is the Go module version v0.316.0
out="${SHOPBOX_CACHE:-$HOME/.cache/shopbox}/prometheus-$version"
if [[ -x $out/promtool && -x $out/prometheus ]]; then
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat >"$work/go.mod" <<EOF2
module shopbox.local/prometheus

go 1.26

require github.com/prometheus/prometheus $module_version

replace (
	github.com/google/pprof => github.com/google/pprof v0.0.0-20260906184651-6331bc6350fe
	github.com/prometheus/client_golang/exp => github.com/prometheus/client_golang/exp v0.0.0-20260907100614-57bb367da472
)
EOF2
echo "building promtool and prometheus $version (Go module $module_version) with Kubernetes discovery into $out"
mkdir -p "$out"
(
  cd "$work"
  for cmd in promtool prometheus; do
    GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -tags remove_all_sd,enable_kubernetes_sd \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=$version" \
      -o "$out/$cmd.tmp" "github.com/prometheus/prometheus/cmd/$cmd"
  done
)
for cmd in promtool prometheus; do mv "$out/$cmd.tmp" "$out/$cmd"; done
"$out/promtool" --version | head -1
