#!/usr/bin/env bash
# Build step of shopbox/Dockerfile: install kubectl, kind, the Docker CLI and its Compose and Buildx plugins, each
# checked against a sha256.
# TOOLS_FROM=download fetches the pinned release files (from TOOLS_MIRROR/<host>/<path> when that is set, e.g.
# a classroom mirror); TOOLS_FROM=local takes them from /tmp/local/tools (an offline build). Either way the file
# must match <TOOL>_SHA256_<ARCH> (build args from versions.env).
set -euo pipefail

arch=$(dpkg --print-architecture)
case $arch in
  amd64) docker_arch=x86_64 ;;
  arm64) docker_arch=aarch64 ;;
  *) echo "install-tools: unsupported architecture $arch (shopbox supports amd64 and arm64)" >&2; exit 1 ;;
esac
ARCH=${arch^^}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

need() {  # need VAR: a build argument that must be set
  [[ -n ${!1:-} ]] || { echo "install-tools: build argument $1 is empty (build with ./shopbox.sh build)" >&2; exit 1; }
}

from() {  # from URL: where to download URL (through TOOLS_MIRROR when set)
  if [[ -n ${TOOLS_MIRROR:-} && -n $1 ]]; then echo "${TOOLS_MIRROR%/}/${1#https://}"; else echo "$1"; fi
}

# fetch NAME URL CHECKSUM_URL: the file to verify, as $work/NAME
fetch() {
  local name=$1 url sum_url var="${1^^}_SHA256_${ARCH}"
  url=$(from "$2")
  sum_url=$(from "$3")
  var=${var//-/_}
  local want=${!var:-}
  if [[ ${TOOLS_FROM:-download} == local ]]; then
    cp "/tmp/local/tools/$name" "$work/$name" \
      || { echo "install-tools: TOOLS_FROM=local but tools/$name is not in the build context" >&2; exit 1; }
  else
    curl -fsSL --retry 3 -o "$work/$name" "$url"
    if [[ -z $want && -n $sum_url ]]; then  # not pinned for this architecture: the publisher's checksum file,
      # a bare hash or `HASH [*]FILE` lines (buildx's checksums.txt lists every asset): the line of this file
      want=$(curl -fsSL --retry 3 "$sum_url" | awk -v f="${url##*/}" 'NF == 1 || $2 == f || $2 == "*" f { print $1; exit }')
    fi
  fi
  [[ -n $want ]] || { echo "install-tools: $var is empty and $name publishes no checksum file" >&2; exit 1; }
  echo "$want  $work/$name" | sha256sum --check --quiet - \
    || { echo "install-tools: $name does not match $var=$want" >&2; exit 1; }
}

need KUBECTL_VERSION; need KIND_VERSION; need DOCKER_CLI_VERSION; need COMPOSE_VERSION; need BUILDX_VERSION

kubectl_url="https://dl.k8s.io/release/v${KUBECTL_VERSION}/bin/linux/${arch}/kubectl"
fetch kubectl "$kubectl_url" "$kubectl_url.sha256"
install -m 0755 "$work/kubectl" /usr/local/bin/kubectl

kind_url="https://github.com/kubernetes-sigs/kind/releases/download/v${KIND_VERSION}/kind-linux-${arch}"
fetch kind "$kind_url" "$kind_url.sha256sum"
install -m 0755 "$work/kind" /usr/local/bin/kind

fetch docker-cli "https://download.docker.com/linux/static/stable/${docker_arch}/docker-${DOCKER_CLI_VERSION}.tgz" ""
if [[ ${TOOLS_FROM:-download} == local ]]; then
  install -m 0755 "$work/docker-cli" /usr/local/bin/docker
else
  tar -xzf "$work/docker-cli" -C "$work" docker/docker
  install -m 0755 "$work/docker/docker" /usr/local/bin/docker
fi

# CLI plugins where the Docker CLI looks for them system-wide (`docker compose`, `docker buildx`).
plugins=/usr/local/libexec/docker/cli-plugins
compose_url="https://github.com/docker/compose/releases/download/v${COMPOSE_VERSION}/docker-compose-linux-${docker_arch}"
fetch compose "$compose_url" "$compose_url.sha256"
install -D -m 0755 "$work/compose" "$plugins/docker-compose"
buildx_release="https://github.com/docker/buildx/releases/download/v${BUILDX_VERSION}"
fetch buildx "$buildx_release/buildx-v${BUILDX_VERSION}.linux-${arch}" "$buildx_release/checksums.txt"
install -D -m 0755 "$work/buildx" "$plugins/docker-buildx"

# Completion is loaded eagerly from /etc/bash_completion.d, so `complete -p kubectl` works in a fresh shell.
mkdir -p /etc/bash_completion.d
kubectl completion bash >/etc/bash_completion.d/kubectl
kind completion bash >/etc/bash_completion.d/kind
docker completion bash >/etc/bash_completion.d/docker
echo "install-tools: kubectl, kind, docker, compose, buildx installed from ${TOOLS_FROM:-download} ($arch), checksums verified"
