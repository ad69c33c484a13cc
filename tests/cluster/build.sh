#!/usr/bin/env bash
# Build the Kubernetes binaries the tests run, from the pinned Go module here: for the `cluster` tier's local
# control plane kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes), etcd
# (go.etcd.io/etcd/server/v3) and kwok (sigs.k8s.io/kwok); for the `workshop` tier's offline kind node image
# (tests/kind/) also kubelet, kubeadm, kube-proxy and kubectl.
#
# Output: ${SHOPBOX_CACHE:-$HOME/.cache/shopbox}/kube-bin/<hash>/, where <hash> covers
# this script, go.mod, go.sum, the cmd/ sources and the Go version, so a rebuild happens only when a pin
# changes. Prints that directory (and nothing else) on stdout; progress goes to stderr.
# Idempotent: when the binaries are already built it returns at once.
#
# `build.sh [BINARY...]` builds only those (e.g. `kubectl`); GOARCH=arm64 cross-compiles them for linux/arm64 (the
# arm64 shell image's kubectl) into kube-bin-arm64/<hash>/, with the same module cache.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${SHOPBOX_CACHE:-$HOME/.cache/shopbox}"
all=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubelet kubeadm kube-proxy kubectl)
bins=("$@")
for b in "${bins[@]}"; do
  [[ " ${all[*]} " == *" $b "* ]] || { echo "build.sh: unknown binary '$b' (one of: ${all[*]})" >&2; exit 2; }
done
((${#bins[@]})) || bins=("${all[@]}")

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  PATH="$PATH:/usr/local/go/bin"
fi
if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: the Go toolchain (go) is not on PATH nor in /usr/local/go/bin" >&2
  exit 1
fi
export GOTOOLCHAIN=local

cd "$here"
mapfile -t sources < <(find cmd -name '*.go' -type f | LC_ALL=C sort)
hash="$({ go version; cat build.sh go.mod go.sum "${sources[@]}"; } | sha256sum | cut -c1-16)"
root="$cache/kube-bin"
goarch="$(go env GOARCH)"
if [[ $goarch != "$(go env GOHOSTARCH)" ]]; then
  root="$cache/kube-bin-$goarch"
fi
out="$root/$hash"

complete() {
  local b
  [ -f "$out/.complete" ] || return 1
  for b in "${bins[@]}"; do
    [ -x "$out/$b" ] || return 1
  done
}

if complete; then
  echo "$out"
  exit 0
fi

mkdir -p "$root"
# One build at a time (parallel test sessions, CI and a developer's shell).
exec 9>"$root/.lock"
flock 9
if complete; then
  echo "$out"
  exit 0
fi

# Stamp the release into the binaries (as Kubernetes' own build does), so that
# `kubectl version` and clients see v1.x.y rather than v0.0.0-master.
k8s_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v[0-9]/ {print $2; exit}' go.mod)"
if [ -z "$k8s_version" ]; then
  echo "build.sh: no k8s.io/kubernetes version in go.mod" >&2
  exit 1
fi
minor="${k8s_version#v*.}"
minor="${minor%%.*}"
major="${k8s_version#v}"
major="${major%%.*}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean"
done

tmp="$(mktemp -d "$root/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "build.sh: building ${bins[*]} (linux/$goarch) into $out (a cold build takes several minutes)" >&2
start=$SECONDS
packages=()
for b in "${bins[@]}"; do packages+=("./cmd/$b"); done
GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -ldflags="$ldflags" -o "$tmp/" "${packages[@]}" >&2
for b in "${bins[@]}"; do
  if [ ! -x "$tmp/$b" ]; then
    echo "build.sh: $b was not built" >&2
    exit 1
  fi
done
# Keep what an earlier build of the same pins made (a build of only kubectl must not lose the control plane).
if [ -d "$out" ]; then
  for b in "${all[@]}"; do
    if [ -x "$out/$b" ] && [ ! -e "$tmp/$b" ]; then
      mv "$out/$b" "$tmp/$b"
    fi
  done
fi
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "build.sh: built in $((SECONDS - start)) s" >&2

# Drop binaries built from older pins.
for old in "$root"/*/; do
  old="${old%/}"
  if [ "$old" != "$out" ]; then
    rm -rf "$old"
  fi
done

echo "$out"
