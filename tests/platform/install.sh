#!/usr/bin/env bash
# Installs what the test suite needs, idempotently: Debian packages and the project's virtualenv.
# On a machine where it cannot install (not root, not Debian) it lists what is missing and stops.
set -euo pipefail

root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv="${SHOPBOX_VENV:-$root_dir/.venv}"

# Debian package -> a command it provides (used to tell what is missing).
declare -A packages=(
  [graphviz]=dot         # slides/: the deck's diagrams
  [chromium]=chromium    # slides/: the PDF and the browser test
  [npm]=npm              # slides/: the Marp CLI (npm ci)
  [docker.io]=dockerd
  [docker-registry]=docker-registry
  [prometheus]=promtool
  [debootstrap]=debootstrap
  [shellcheck]=shellcheck
  [git]=git
  [iproute2]=ip
  [curl]=curl          # HTTP/2 prior-knowledge requests in tests/services/test_hostile.py
  [postgresql]=pg_createcluster  # tests/mesh/: a throw-away PostgreSQL server for usersvc (the server is not on PATH)
  [gettext-base]=envsubst  # exercise 3's `envsubst < FILE | kubectl apply -f -`, replayed on the local control plane
  [qemu-user-static]=qemu-aarch64-static  # tests/arm64/: arm64 images under emulation (start.sh registers it)
)
required_commands=(python3 go)

missing=()
for pkg in "${!packages[@]}"; do
  command -v "${packages[$pkg]}" >/dev/null 2>&1 || missing+=("$pkg")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 || ! -f /etc/debian_version ]] || ! command -v apt-get >/dev/null; then
    echo "install.sh: cannot install here (needs root on Debian); missing packages: ${missing[*]}" >&2
    exit 1
  fi
  echo "install.sh: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for cmd in "${required_commands[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || { echo "install.sh: missing required command: $cmd" >&2; exit 1; }
done

# The virtualenv is rebuilt only when pyproject.toml or its lock changes. Every dependency comes from the
# hash-locked tests/platform/requirements.lock (`make lock`); then the project itself, without dependencies.
stamp="$venv/.shopbox-stamp"
lock="$root_dir/tests/platform/requirements.lock"
want=$(cat "$root_dir/pyproject.toml" "$lock" | sha256sum | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "install.sh: preparing virtualenv $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --require-hashes -r "$lock"
  "$venv/bin/pip" install -q --no-deps -e "$root_dir"
  echo "$want" >"$stamp"
fi
