#!/usr/bin/env bash
# Build the Docker Compose v2 CLI plugin at the version pinned in plugin/go.mod (= COMPOSE_VERSION in versions.env)
# into ${SHOPBOX_CACHE:-~/.cache/shopbox}/compose/<hash>/docker-compose and print that path; <hash> covers go.mod,
# go.sum, this script and the Go version, so it rebuilds only when a pin changes. `--path` prints the path, builds
# nothing. Needs Go (/usr/local/go/bin is searched too) and the Go module proxy. Participants get the released
# binary instead (shopbox/install-tools.sh); the test machines can download nothing but Go modules.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PATH="$PATH:/usr/local/go/bin" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
module="$here/plugin"
key="$(cat "$module/go.mod" "$module/go.sum" "${BASH_SOURCE[0]}" <(go version) | sha256sum | cut -c1-16)"
out="${SHOPBOX_CACHE:-$HOME/.cache/shopbox}/compose/$key"
if [[ ${1:-} == --path || -x $out/docker-compose ]]; then
  echo "$out/docker-compose"
  exit 0
fi
version="$(sed -n 's/.*docker\/compose\/v2 \(v[^ ]*\).*/\1/p' "$module/go.mod")"
echo "building docker compose $version into $out" >&2
mkdir -p "$out"
(cd "$module" && go build -trimpath -o "$out/docker-compose.tmp" \
  -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$version" github.com/docker/compose/v2/cmd)
mv "$out/docker-compose.tmp" "$out/docker-compose"
echo "$out/docker-compose"
