#!/usr/bin/env bash
# Build promtool of the Prometheus version pinned in versions.env (PROMETHEUS_IMAGE), with Kubernetes discovery,
# into ${SHOPBOX_CACHE:-~/.cache/shopbox}/promtool-<version>/promtool (what test_prometheus_config.py uses).
# Debian's promtool (2.42) is built without Kubernetes discovery, so it cannot check the cluster's
# prometheus.yml. Idempotent: nothing to do once built. Needs Go and the Go module proxy; takes minutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
image="$(sed -n 's/^PROMETHEUS_IMAGE=//p' "$root/versions.env")"
version="${image##*:v}"
IFS=. read -r major minor patch <<<"$version"
module_version="v0.$((major * 100 + minor)).$patch" # Prometheus 3.16.0 is the Go module version v0.316.0
out="${SHOPBOX_CACHE:-$HOME/.cache/shopbox}/promtool-$version"
if [[ -x $out/promtool ]]; then
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Prometheus pins two pseudo-versions the module proxy here does not serve (403); nearby ones it does serve
# build the same promtool. A new pin may need these lines updated (the error names the module).
cat >"$work/go.mod" <<EOF
module shopbox.local/promtool

go 1.26

require github.com/prometheus/prometheus $module_version

replace (
	github.com/google/pprof => github.com/google/pprof v0.0.0-20260906184651-6331bc6350fe
	github.com/prometheus/client_golang/exp => github.com/prometheus/client_golang/exp v0.0.0-20260907100614-57bb367da472
)
EOF
echo "building promtool $version (Go module $module_version) with Kubernetes discovery into $out"
mkdir -p "$out"
(
  cd "$work"
  GOFLAGS=-mod=mod go build -trimpath -tags remove_all_sd,enable_kubernetes_sd \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$version" \
    -o "$out/promtool.tmp" github.com/prometheus/prometheus/cmd/promtool
)
mv "$out/promtool.tmp" "$out/promtool"
"$out/promtool" --version | head -1
