#!/usr/bin/env bash
# Build the Docker Compose v2 CLI plugin at the version pinned in plugin/go.mod (= COMPOSE_VERSION in versions.env)
# into ${SHOPBOX_CACHE:-~/.cache/shopbox}/compose/<hash>/docker-compose and print that path; <hash> covers go.mod,
# go.sum, this script and the Go version, so it rebuilds only when a pin changes. `--path` prints the path, builds
# nothing; `--install` also links it as a Docker CLI plugin, ${DOCKER_CONFIG:-~/.docker}/cli-plugins/docker-compose,
# so `docker compose` works (make setup does that). Needs Go (/usr/local/go/bin is searched too) and the Go module
# proxy; a cold build takes several minutes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PATH="$PATH:/usr/local/go/bin" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
module="$here/plugin"
key="$(cat "$module/go.mod" "$module/go.sum" "${BASH_SOURCE[0]}" <(go version) | sha256sum | cut -c1-16)"
out="${SHOPBOX_CACHE:-$HOME/.cache/shopbox}/compose/$key"
install() {
  local plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  mkdir -p "$plugins"
  ln -sfn "$out/docker-compose" "$plugins/docker-compose"
}
if [[ ${1:-} == --path || -x $out/docker-compose ]]; then
  [[ ${1:-} == --install ]] && install
  echo "$out/docker-compose"
  exit 0
fi
version="$(sed -n 's/.*docker\/compose\/v2 \(v[^ ]*\).*/\1/p' "$module/go.mod")"
echo "building docker compose $version into $out" >&2
mkdir -p "$out"
(cd "$module" && go build -trimpath -o "$out/docker-compose.tmp" \
  -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$version" github.com/docker/compose/v2/cmd)
mv "$out/docker-compose.tmp" "$out/docker-compose"
[[ ${1:-} == --install ]] && install
echo "$out/docker-compose"
