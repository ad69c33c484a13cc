#!/usr/bin/env bash
# Build a Docker CLI plugin from its Go module, for the test machines (nothing can be downloaded there but Go
# modules): `build_cli_plugin.sh [--path|--install] compose|buildx`.
#   compose: Docker Compose v2 at the version tests/compose/plugin/go.mod requires (= COMPOSE_VERSION; that
#            wrapper module carries compose's own exclude block, which go build honours only in the main module)
#   buildx:  Docker Buildx at BUILDX_VERSION of versions.env (`go install module@version`: it has no replaces)
# The binary goes to ${SHOPBOX_CACHE:-~/.cache/shopbox}/<plugin>/<hash>/docker-<plugin> and its path is printed;
# <hash> covers the pinned version (and go.mod/go.sum), the build recipe and the Go version, so it rebuilds only
# when a pin changes. `--path` prints the path and builds nothing; `--install` also links it as a Docker CLI
# plugin, ${DOCKER_CONFIG:-~/.docker}/cli-plugins/docker-<plugin> (make setup does that for both). Needs Go
# (/usr/local/go/bin is searched too) and the Go module proxy; a cold build takes several minutes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="$PATH:/usr/local/go/bin" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
mode=
if [[ ${1:-} == --path || ${1:-} == --install ]]; then mode=$1; shift; fi
plugin=${1:-}
case $plugin in
  compose)
    module="$root/tests/compose/plugin"
    version="$(sed -n 's/.*docker\/compose\/v2 \(v[^ ]*\).*/\1/p' "$module/go.mod")"
    package=github.com/docker/compose/v2/cmd
    ldflags="-s -w -X github.com/docker/compose/v2/internal.Version=$version"
    pins=("$module/go.mod" "$module/go.sum")
    ;;
  buildx)
    module=
    version="v$(sed -n 's/^BUILDX_VERSION=//p' "$root/versions.env")"
    package=github.com/docker/buildx/cmd/buildx
    ldflags="-s -w -X github.com/docker/buildx/version.Version=$version"
    ldflags+=" -X github.com/docker/buildx/version.Package=github.com/docker/buildx"
    pins=()
    ;;
  *) echo "build_cli_plugin.sh: unknown plugin '$plugin' (compose or buildx)" >&2; exit 2 ;;
esac
[[ $version != v ]] || { echo "build_cli_plugin.sh: no version pinned for $plugin" >&2; exit 1; }
key="$(cat "${pins[@]}" <(echo "$plugin $version $package $ldflags") <(go version) | sha256sum | cut -c1-16)"
out="${SHOPBOX_CACHE:-$HOME/.cache/shopbox}/$plugin/$key"
binary="$out/docker-$plugin"
install() {
  local plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  mkdir -p "$plugins"
  ln -sfn "$binary" "$plugins/docker-$plugin"
}
if [[ $mode != --path && ! -x $binary ]]; then
  echo "building docker $plugin $version into $out" >&2
  mkdir -p "$out"
  if [[ -n $module ]]; then
    (cd "$module" && go build -trimpath -o "$binary.tmp" -ldflags "$ldflags" "$package")
  else
    mkdir -p "$out/bin.tmp"
    GOBIN="$out/bin.tmp" go install -trimpath -ldflags "$ldflags" "$package@$version"
    mv "$out/bin.tmp/${package##*/}" "$binary.tmp"
    rmdir "$out/bin.tmp"
  fi
  mv "$binary.tmp" "$binary"
fi
[[ $mode == --install ]] && install
echo "$binary"
