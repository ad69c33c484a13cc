#!/usr/bin/env bash
# Build a Docker CLI plugin, or the Docker CLI itself, from its Go module, for the test machines (nothing can be
# downloaded there but Go modules): `build_cli_plugin.sh [--path|--install] compose|buildx|docker`.
#   compose: Docker Compose v2 at the version tests/compose/plugin/go.mod requires (= COMPOSE_VERSION; that
#            wrapper module carries compose's own exclude block, which go build honours only in the main module)
#   buildx:  Docker Buildx at BUILDX_VERSION of versions.env (`go install module@version`: it has no replaces)
#   docker:  the Docker CLI at DOCKER_CLI_VERSION. github.com/docker/cli has no go.mod: its own vendor.mod and
#            vendor.sum, as the Go module proxy serves them, become go.mod and go.sum of a copy of its source, built
#            as the main module. Only the arm64 shell image needs it (the amd64 one takes this machine's docker).
# The binary goes to ${SHOPBOX_CACHE:-~/.cache/shopbox}/<plugin>/<hash>/docker-<plugin> (the CLI: .../docker) and its
# path is printed; <hash> covers the pinned version (and go.mod/go.sum), the build recipe and the Go version, so it
# rebuilds only when a pin changes. GOARCH=arm64 cross-compiles for linux/arm64 (the arm64 shell image; the
# architecture goes into <hash>), reusing the module cache. `--path` prints the path and builds nothing;
# `--install` also links it as a Docker CLI plugin, ${DOCKER_CONFIG:-~/.docker}/cli-plugins/docker-<plugin> (make
# setup does that for both plugins). Needs Go (/usr/local/go/bin is searched too) and the Go module proxy; a cold
# build takes several minutes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="$PATH:/usr/local/go/bin" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
mode=
if [[ ${1:-} == --path || ${1:-} == --install ]]; then mode=$1; shift; fi
plugin=${1:-}
pin() { sed -n "s/^$1=//p" "$root/versions.env"; }
name=docker-$plugin
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
    version="v$(pin BUILDX_VERSION)"
    package=github.com/docker/buildx/cmd/buildx
    ldflags="-s -w -X github.com/docker/buildx/version.Version=$version"
    ldflags+=" -X github.com/docker/buildx/version.Package=github.com/docker/buildx"
    pins=()
    ;;
  docker)
    module=
    name=docker
    version="v$(pin DOCKER_CLI_VERSION)"
    package=github.com/docker/cli/cmd/docker
    ldflags="-s -w -X github.com/docker/cli/cli/version.Version=${version#v}"
    pins=()
    ;;
  *) echo "build_cli_plugin.sh: unknown plugin '$plugin' (compose, buildx or docker)" >&2; exit 2 ;;
esac
[[ $version != v ]] || { echo "build_cli_plugin.sh: no version pinned for $plugin" >&2; exit 1; }
target=
goarch="$(go env GOARCH)"
if [[ $goarch != "$(go env GOHOSTARCH)" ]]; then
  target=" GOARCH=$goarch"  # only then: the host's builds keep the hash they always had
  [[ $mode != --install ]] || { echo "build_cli_plugin.sh: --install of a GOARCH=$goarch build" >&2; exit 2; }
fi
key="$(cat "${pins[@]}" <(echo "$plugin $version $package $ldflags$target") <(go version) | sha256sum | cut -c1-16)"
out="${SHOPBOX_CACHE:-$HOME/.cache/shopbox}/$plugin/$key"
binary="$out/$name"
install() {
  local plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  mkdir -p "$plugins"
  ln -sfn "$binary" "$plugins/docker-$plugin"
}
if [[ $mode != --path && ! -x $binary ]]; then
  echo "building $name $version (linux/$goarch) into $out" >&2
  mkdir -p "$out"
  if [[ -n $module ]]; then
    (cd "$module" && go build -trimpath -o "$binary.tmp" -ldflags "$ldflags" "$package")
  elif [[ $plugin == docker ]]; then
    source_dir="$(go mod download -json "github.com/docker/cli@$version+incompatible" \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    cp -r "$source_dir" "$work/cli"
    chmod -R u+w "$work/cli"
    (cd "$work/cli" && rm -rf vendor && mv vendor.mod go.mod && mv vendor.sum go.sum \
      && go build -mod=readonly -trimpath -o "$binary.tmp" -ldflags "$ldflags" "./${package#github.com/docker/cli/}")
  else
    # A cross-compiling `go install` refuses GOBIN: the binary lands in GOPATH/bin/linux_<arch>/ of a scratch
    # GOPATH instead (the module cache stays the shared one).
    gopath="$out/gopath.tmp"
    GOMODCACHE="$(go env GOMODCACHE)" GOPATH="$gopath" GOBIN="$([[ -n $target ]] || echo "$gopath/bin")" \
      go install -trimpath -ldflags "$ldflags" "$package@$version"
    find "$gopath/bin" -type f -name "${package##*/}" -exec mv {} "$binary.tmp" \;
    rm -rf "$gopath"
  fi
  mv "$binary.tmp" "$binary"
fi
[[ $mode == --install ]] && install
echo "$binary"
