#!/usr/bin/env bash
# shopbox.sh: the workshop in a box. Needs only Docker: kind, kubectl and forge run inside the shopbox image.
# This is the host's part only: Docker checks, the shopbox image, host checks and starting the shell. The cluster
# and registry set-up, down, prefetch/load and doctor's in-cluster checks are shopbox-setup (shopbox_setup/,
# Python), run in a throwaway shopbox container that drives the host's Docker (setup_command).
# Written for bash 3.2 too (macOS): no associative arrays, no mapfile, no ${var,,}.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./shopbox.sh [--no-cluster] [COMMAND]
       ./shopbox.sh [--no-cluster] run -- COMMAND [ARG...]
       ./shopbox.sh join FILE [doctor | run -- COMMAND [ARG...]]
       ./shopbox.sh class COMMAND [ARG...]

Start the workshop shell. With no command: make sure the kind cluster `shopbox` and the registry on
localhost:5001 exist (kind's local-registry recipe), build the shopbox image if needed (or reuse it), and open
the shell with this directory mounted at the same path, the Docker socket mounted (root-equivalent on this
machine: see shopbox/README.md), on the `kind` network. Re-running reuses what exists.

Commands:
  (none)          set up (or reuse) cluster + registry + image, then open the shell
  run -- CMD...   the same set-up, then run CMD in the shell non-interactively (as a participant would type
                  it) and exit with its exit code, e.g. ./shopbox.sh run -- forge deploy
  doctor          pre-flight checks with a fix for each problem (Docker, socket, ports, disk, inotify, kind
                  network, registry, API server); exits 1 if a check fails
  build           build (or reuse) the shopbox image only
  down            remove the cluster, the registry and the `kind` network when nothing else uses it (the image
                  stays)
  prefetch [FILE] pull every pinned image in versions.env, build the shopbox image, save them all into one
                  bundle (default: ./shopbox-bundle.tar) for an offline site
  load BUNDLE     offline site: load BUNDLE into Docker, set up cluster + registry from it, put the workshop
                  images into the registry and the kind node
  join FILE       a classroom seat instead of a local cluster: FILE is the seat's join file from the instructor.
                  The same shell, bound to the seat (kubectl, forge and lab use its namespace and registry); no
                  kind cluster. Pages 1-2 stay on this machine (the registry on localhost:5001 and the `kind`
                  network are set up, no cluster); the seat's edge and Prometheus are forwarded through the API
                  server to http://localhost:8080/qotm/ and http://localhost:9090/ (SHOPBOX_EDGE_PORT,
                  SHOPBOX_PROMETHEUS_PORT), its registry to localhost:<its port>, by a container
                  shopbox-seat-CLASS-SEAT that every shell of the seat shares (./shopbox.sh down removes it).
  join FILE doctor   check the join: the file, API server reachable, token valid, the seat, registry push, quota
  join FILE run -- CMD...   CMD in the joined shell, non-interactively
  class CMD...    the instructor's classroom commands (shopbox-class, classroom/README.md) against the cluster of
                  your kubeconfig (${KUBECONFIG:-~/.kube/config}), in this directory: class up N | --names FILE,
                  class add NAME, class status, class reset SEAT, class down, class portal, class rehearse
                  --seats N (seats through pages 3-9 at once on the cluster: sizes); ./shopbox.sh class --help
  --help, -h      this help

Options:
  --no-cluster    no kind cluster or registry: open the shell with your current kubeconfig
                  (${KUBECONFIG:-~/.kube/config}); on Linux the shell then uses the host network

Environment (defaults in brackets):
  SHOPBOX_CACHE [~/.cache/shopbox]   kubeconfig, build context and bundles
  SHOPBOX_REGISTRY_PORT [5001]       SHOPBOX_API_PORT [6443]
  SHOPBOX_EDGE_PORT [8080]           SHOPBOX_PROMETHEUS_PORT [9090]
                                     host ports (127.0.0.1) of the Envoy edge and Prometheus NodePorts
  SHOPBOX_DRY_RUN=1                  print the docker commands instead of running them (state is still read)
  SHOPBOX_IMAGE_REPOSITORY [shopbox] the image is <repository>:<hash of its inputs>
  SHOPBOX_TOOLS_MIRROR=URL            download kubectl, kind and docker from URL/<host>/<path> (a mirror)
  SHOPBOX_TOOLS_DIR, SHOPBOX_WHEELS_DIR, SHOPBOX_BASE_IMAGE
                                     offline image build: kubectl, kind, docker binaries / forge wheelhouse /
                                     base image from local sources instead of the pinned downloads
EOF
}

SHOPBOX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERSIONS_FILE=${SHOPBOX_VERSIONS_FILE:-$SHOPBOX_ROOT/versions.env}
CACHE=${SHOPBOX_CACHE:-$HOME/.cache/shopbox}
CLUSTER=${SHOPBOX_CLUSTER:-shopbox}
REGISTRY_NAME=${SHOPBOX_REGISTRY_NAME:-shopbox-registry}
REGISTRY_PORT=${SHOPBOX_REGISTRY_PORT:-5001}
API_PORT=${SHOPBOX_API_PORT:-6443}
EDGE_PORT=${SHOPBOX_EDGE_PORT:-8080}
PROMETHEUS_PORT=${SHOPBOX_PROMETHEUS_PORT:-9090}
# The fixed NodePorts of the Envoy edge and of Prometheus (node_port in envoy-canary/envoy/service.yaml and
# prometheus-canary/service.yaml; a test keeps them equal), mapped to EDGE_PORT / PROMETHEUS_PORT on the host.
EDGE_NODE_PORT=30080
PROMETHEUS_NODE_PORT=30090
KIND_NETWORK=${SHOPBOX_KIND_NETWORK:-kind}
WORKSPACE=${SHOPBOX_WORKSPACE:-$SHOPBOX_ROOT}
DRY_RUN=${SHOPBOX_DRY_RUN:-}
KUBECONFIG_INTERNAL=$CACHE/kubeconfig-$CLUSTER-internal
NODE_LABEL=io.x-k8s.kind.cluster=$CLUSTER
# Every image shopbox builds or runs is the engine's own architecture (ARCH: the kind node's, which kind takes from
# the engine). A DOCKER_DEFAULT_PLATFORM set for other projects (linux/amd64 on an Apple Silicon Mac, say) would
# otherwise give the shell emulated tools, or refuse to run it; it is set aside here, and doctor says so.
DEFAULT_PLATFORM=${DOCKER_DEFAULT_PLATFORM:-}
unset DOCKER_DEFAULT_PLATFORM
REQUIRED_KEYS="DEBIAN_BASE_IMAGE KUBECTL_VERSION KIND_VERSION DOCKER_CLI_VERSION KIND_NODE_IMAGE REGISTRY_IMAGE"
# Names versions.env must not set: this script's own globals and the shell's.
RESERVED_KEYS="PATH HOME IFS PWD SHELL USER SHOPBOX_ROOT VERSIONS_FILE CACHE CLUSTER REGISTRY_NAME REGISTRY_PORT API_PORT
 EDGE_PORT PROMETHEUS_PORT EDGE_NODE_PORT PROMETHEUS_NODE_PORT
 KIND_NETWORK WORKSPACE DRY_RUN KUBECONFIG_INTERNAL NODE_LABEL REQUIRED_KEYS RESERVED_KEYS VERSION_KEYS IMAGE CMD ARCH
 DEFAULT_PLATFORM FAILED MISSING DOCKER_OK SEAT_KEYS SEAT_LABEL JOIN_MOUNT SEAT_CLASS SEAT_NAME SEAT_NAMESPACE SEAT_SERVER SEAT_EXPIRES
 SEAT_REGISTRY SEAT_REGISTRY_PORT SEAT_EDGE_LISTEN SEAT_PROMETHEUS_LISTEN SEAT_SERVICE_URLS LOOPBACK_IPV6"
# What `shopbox-join check` prints about a seat (classroom/joined/seat.py: settings), read into these variables.
SEAT_KEYS="SEAT_CLASS SEAT_NAME SEAT_NAMESPACE SEAT_SERVER SEAT_EXPIRES SEAT_REGISTRY SEAT_REGISTRY_PORT SEAT_EDGE_LISTEN SEAT_PROMETHEUS_LISTEN SEAT_SERVICE_URLS"
SEAT_LABEL=io.shopbox.seat  # on a seat's forwarder container (shopbox_setup/settings.py: down removes them)
JOIN_MOUNT=/run/shopbox/join.yaml  # where containers find the join file (shopbox/entrypoint.sh)
# A container on a network without IPv6 (Docker's default, and kind's network where the engine has no IPv6) gets a
# loopback without ::1, while /etc/hosts still names ::1 localhost: `curl --retry-connrefused localhost:PORT`
# then fails at once (its last error is "cannot assign requested address", which curl does not retry) instead of
# waiting for a port-forward that is still starting (pages 3-9). The shells' network namespace keeps ::1.
LOOPBACK_IPV6=(--sysctl net.ipv6.conf.lo.disable_ipv6=0)

die() { echo "shopbox: error: $*" >&2; exit 1; }
log() { echo "shopbox: $*" >&2; }

# --- running commands ------------------------------------------------------------------------------------

# run CMD...: run a command that changes something; with SHOPBOX_DRY_RUN=1 print it instead ("+ cmd").
run() {
  if [[ -n $DRY_RUN ]]; then
    echo "+ $(quote "$@")"
  else
    "$@"
  fi
}

# run_to FILE CMD...: like run, writing the command's output to FILE (readable by the user only).
run_to() {
  local file=$1
  shift
  if [[ -n $DRY_RUN ]]; then
    echo "+ $(quote "$@") > $file"
  else
    (umask 077 && "$@" >"$file")
  fi
}

quote() {
  local out="" arg
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]]; then out+=" $arg"; else out+=" $(printf '%q' "$arg")"; fi
  done
  echo "${out# }"
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

# --- versions.env ----------------------------------------------------------------------------------------

# Read versions.env (KEY=value lines, # comments) into shell variables, with a clear error for a bad line.
load_versions() {
  [[ -f $VERSIONS_FILE ]] || die "$VERSIONS_FILE: not found"
  local line number=0 key pattern='^([A-Z][A-Z0-9_]*)=([A-Za-z0-9_.:/@+=,%-]*)$'
  VERSION_KEYS=""
  while IFS= read -r line || [[ -n $line ]]; do
    number=$((number + 1))
    [[ -z ${line//[[:space:]]/} || $line =~ ^[[:space:]]*# ]] && continue
    [[ $line =~ $pattern ]] \
      || die "$VERSIONS_FILE:$number: expected KEY=value (upper-case KEY; value without spaces or quotes), got: $line"
    key=${BASH_REMATCH[1]}
    case " $RESERVED_KEYS " in
      *[[:space:]]"$key"[[:space:]]*) die "$VERSIONS_FILE:$number: $key is reserved (a shell or shopbox.sh variable)" ;;
    esac
    printf -v "$key" '%s' "${BASH_REMATCH[2]}"
    VERSION_KEYS+=" $key"
  done <"$VERSIONS_FILE"
  for key in $REQUIRED_KEYS; do
    [[ " $VERSION_KEYS " == *" $key "* && -n ${!key} ]] || die "$VERSIONS_FILE: $key is missing or empty"
  done
}

# --- Docker ----------------------------------------------------------------------------------------------

docker_socket() {
  case ${DOCKER_HOST:-} in
    "") echo /var/run/docker.sock ;;
    unix://*) echo "${DOCKER_HOST#unix://}" ;;
    *) return 1 ;;
  esac
}

# docker_problem: nothing if the engine answers, else two lines: what is wrong, and the fix.
docker_problem() {
  if ! command -v docker >/dev/null 2>&1; then
    echo "Docker is not installed (no \`docker\` on PATH)"
    echo "install Docker Desktop (macOS/Windows) or Docker Engine (Linux): https://docs.docker.com/get-docker/"
    return
  fi
  local err
  if err=$(docker version --format '{{.Server.Version}}' 2>&1 >/dev/null); then
    return
  fi
  if [[ $err == *"ermission denied"* ]]; then
    echo "Docker is running but its socket $(docker_socket || echo "$DOCKER_HOST") is not accessible to $(id -un)"
    echo "sudo usermod -aG docker $(id -un), then log out and in again"
  else
    echo "Docker is not running (no answer at ${DOCKER_HOST:-unix:///var/run/docker.sock})"
    echo "start Docker Desktop, or \`sudo systemctl start docker\` on Linux"
  fi
}

require_docker() {
  local problem
  problem=$(docker_problem)
  [[ -z $problem ]] || die "$(echo "$problem" | head -1): $(echo "$problem" | tail -1)"
  docker_socket >/dev/null || die "DOCKER_HOST=$DOCKER_HOST: shopbox needs a local Docker socket (unix://) to mount into the shell"
  ARCH=$(engine_arch) || die "wrong architecture: the Docker engine runs on $(docker info --format '{{.Architecture}}'); shopbox (kind node images and tools) supports amd64 and arm64 only"
}

engine_arch() {
  case $(docker info --format '{{.Architecture}}' 2>/dev/null) in
    x86_64 | amd64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) return 1 ;;
  esac
}

# engine_cgroup_version: 1 or 2, the cgroup version of the kernel the engine (and so every kind node) runs on.
engine_cgroup_version() {
  local version
  version=$(docker info --format '{{.CgroupVersion}}' 2>/dev/null || true)
  echo "${version:-2}"
}

# privileged_probe_command: a throwaway privileged container (kind runs every node --privileged), from the
# registry image that the set-up needs anyway.
privileged_probe_command() {
  CMD=(docker run --rm --privileged --entrypoint true "$REGISTRY_IMAGE")
}

# privileged_problem: nothing when the engine starts a privileged container, else the engine's error (one line);
# "unknown: WHY" when it cannot be tried (the probe image cannot be pulled: the set-up will say why on its own).
privileged_problem() {
  local out
  if ! image_exists "$REGISTRY_IMAGE"; then
    docker pull -q "$REGISTRY_IMAGE" >/dev/null 2>&1 || { echo "unknown: $REGISTRY_IMAGE cannot be pulled"; return; }
  fi
  privileged_probe_command
  if ! out=$("${CMD[@]}" 2>&1); then
    echo "$out" | grep -v '^$' | grep -v "docker run --help" | tail -n 1
  fi
}

PRIVILEGED_FIX="kind runs its nodes as privileged containers: use an engine that allows them (Docker Desktop, or \
Docker Engine on a Linux host or full VM; for rootless Docker see https://kind.sigs.k8s.io/docs/user/rootless/)"

require_privileged() {
  local problem
  [[ -z $DRY_RUN ]] || return 0
  problem=$(privileged_problem)
  [[ -z $problem || $problem == unknown:* ]] \
    || die "this Docker engine cannot start a privileged container ($problem); $PRIVILEGED_FIX"
}

is_docker_desktop() { [[ $(docker info --format '{{.OperatingSystem}}' 2>/dev/null) == *"Docker Desktop"* ]]; }

# engine_kind: what serves the Docker API: podman (its Docker API names the server component "Podman Engine"),
# docker-desktop, rancher-desktop, colima (from `docker info`'s operating system and name), else docker-engine.
engine_kind() {
  local components system
  components=$(docker version --format '{{range .Server.Components}}{{.Name}};{{end}}' 2>/dev/null || true)
  system=$(docker info --format '{{.OperatingSystem}};{{.Name}}' 2>/dev/null || true)
  case "$components" in
    *"Podman Engine"*) echo podman; return ;;
  esac
  case "$system" in
    *"Docker Desktop"* | *";docker-desktop"*) echo docker-desktop ;;
    "Rancher Desktop"* | *";lima-rancher-desktop"*) echo rancher-desktop ;;
    *";colima"*) echo colima ;;
    *) echo docker-engine ;;
  esac
}

# engine_note KIND: doctor's line on what the engine KIND means for the workshop (what is tested, what is not):
# "STATUS|DETAIL|FIX".
engine_note() {
  local ci="not run by shopbox's CI, which runs Docker Engine on Linux"
  case $1 in
    docker-desktop) echo "ok|Docker Desktop: the set-up shopbox is written for (host ports on localhost, \
host.docker.internal), checked by review; $ci (amd64, and its arm64 images under emulation)|" ;;
    rancher-desktop) echo "warn|Rancher Desktop (its dockerd engine): $ci; its own Kubernetes, when on, holds \
port 6443, which the kind cluster needs|turn Rancher Desktop's Kubernetes off (Preferences > Kubernetes), or use \
SHOPBOX_API_PORT=<port>" ;;
    colima) echo "warn|Colima (Docker Engine in a Linux VM): $ci directly; give the VM room for the cluster and the \
lab's services (its default is 2 CPUs, 2 GiB)|colima stop && colima start --cpu 4 --memory 8" ;;
    podman) echo "warn|Podman's Docker API: $ci; kind drives it as a Docker engine and needs privileged (rootful) \
containers for its nodes|podman machine stop && podman machine set --rootful && podman machine start" ;;
    *) echo "ok|Docker Engine on Linux: what shopbox's CI runs (engine 20.10 on amd64; the arm64 images under \
emulation, not on an arm64 machine)|" ;;
  esac
}

container_state() { docker container inspect --format '{{.State.Status}}' "$1" 2>/dev/null || true; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# container_publishes NAME PORT: NAME is a container publishing host port PORT.
container_publishes() { docker port "$1" 2>/dev/null | grep -q ":$2\$"; }

# --- the shopbox image -----------------------------------------------------------------------------------

# Files that go into the image; their content, the build arguments (the versions.env pins the Dockerfile uses) and
# the architecture make the image tag, so a pin for another image in versions.env does not rebuild it.
image_inputs() {
  (
    cd "$SHOPBOX_ROOT"
    find shopbox shopbox_setup versions_env classroom forge exercises/__init__.py exercises/lab pyproject.toml -type f ! -name '*.pyc' ! -path '*/__pycache__/*' ! -path 'shopbox/local/*' \
      ! -path shopbox/README.md ! -name '.*' | LC_ALL=C sort
  )
}

# Every ARG the Dockerfile declares, in order.
dockerfile_args() { sed -n 's/^ARG \([A-Z0-9_]*\).*/\1/p' "$SHOPBOX_ROOT/shopbox/Dockerfile"; }

# The tools install-tools.sh installs, as its fetch() names them (an offline build takes each from SHOPBOX_TOOLS_DIR).
local_tools() { echo kubectl kind docker-cli compose buildx; }

local_tool_file() {
  case $1 in
    docker-cli) echo "$SHOPBOX_TOOLS_DIR/docker" ;;
    *) echo "$SHOPBOX_TOOLS_DIR/$1" ;;
  esac
}

# build_args: the --build-arg list, one argument a line. versions.env supplies every ARG it has a key for;
# an offline build (SHOPBOX_TOOLS_DIR) verifies the local binaries against their own checksums.
build_args() {
  local name value tool var upper_arch
  upper_arch=$(echo "${ARCH:-amd64}" | tr '[:lower:]' '[:upper:]')
  for name in $(dockerfile_args); do
    case $name in
      BASE_IMAGE) value=${SHOPBOX_BASE_IMAGE:-$DEBIAN_BASE_IMAGE} ;;
      TOOLS_FROM) value=$([[ -n ${SHOPBOX_TOOLS_DIR:-} ]] && echo local || echo download) ;;
      TOOLS_MIRROR) value=${SHOPBOX_TOOLS_MIRROR:-} ;;
      *)
        [[ " $VERSION_KEYS " == *" $name "* ]] || die "shopbox/Dockerfile: ARG $name has no key in $VERSIONS_FILE"
        value=${!name}
        ;;
    esac
    if [[ -n ${SHOPBOX_TOOLS_DIR:-} ]]; then
      for tool in $(local_tools); do
        var=$(echo "${tool}_SHA256_$upper_arch" | tr 'a-z-' 'A-Z_')
        if [[ $name == "$var" ]]; then
          value=$(sha256 "$(local_tool_file "$tool")" | cut -d' ' -f1)
        fi
      done
    fi
    echo "--build-arg"
    echo "$name=$value"
  done
}

image_ref() {
  if [[ -n ${SHOPBOX_IMAGE:-} ]]; then
    echo "$SHOPBOX_IMAGE"
    return
  fi
  local digest
  digest=$(
    cd "$SHOPBOX_ROOT"
    {
      echo "platform linux/${ARCH:-amd64}"
      image_inputs | while IFS= read -r file; do sha256 "$file"; done
      build_args
      [[ -z ${SHOPBOX_WHEELS_DIR:-} ]] || (cd "$SHOPBOX_WHEELS_DIR" && ls -- *.whl)
    } | sha256 | cut -c1-16
  )
  echo "${SHOPBOX_IMAGE_REPOSITORY:-shopbox}:$digest"
}

# stage_context DIR: a small build context laid out like the repository (the Dockerfile's COPY paths).
stage_context() {
  local dir=$1 file tool
  rm -rf "$dir"
  mkdir -p "$dir/shopbox/local/tools" "$dir/shopbox/local/wheels"
  image_inputs | while IFS= read -r file; do
    mkdir -p "$dir/$(dirname "$file")"
    cp "$SHOPBOX_ROOT/$file" "$dir/$file"
  done
  if [[ -n ${SHOPBOX_TOOLS_DIR:-} ]]; then
    for tool in $(local_tools); do
      [[ -f $(local_tool_file "$tool") ]] || die "SHOPBOX_TOOLS_DIR=$SHOPBOX_TOOLS_DIR: no $(basename "$(local_tool_file "$tool")") there"
      cp "$(local_tool_file "$tool")" "$dir/shopbox/local/tools/$tool"
    done
  fi
  if [[ -n ${SHOPBOX_WHEELS_DIR:-} ]]; then
    ls "$SHOPBOX_WHEELS_DIR"/*.whl >/dev/null 2>&1 || die "SHOPBOX_WHEELS_DIR=$SHOPBOX_WHEELS_DIR: no wheels there"
    cp "$SHOPBOX_WHEELS_DIR"/*.whl "$dir/shopbox/local/wheels/"
  fi
}

# build_command IMAGE CONTEXT: the docker build command (legacy builder when buildx is missing), for the engine's
# architecture (install-tools.sh then fetches that architecture's tools).
build_command() {
  local buildkit=0 arg
  if docker buildx version >/dev/null 2>&1; then buildkit=1; fi
  CMD=(env "DOCKER_BUILDKIT=$buildkit" docker build --platform "linux/${ARCH:-amd64}" --tag "$1"
    --file "$2/shopbox/Dockerfile")
  while IFS= read -r arg; do CMD+=("$arg"); done < <(build_args)
  CMD+=("$2")
}

ensure_image() {
  IMAGE=$(image_ref)
  if image_exists "$IMAGE"; then
    log "image $IMAGE is up to date"
    return
  fi
  local context=$CACHE/build-context-${IMAGE##*:}
  log "building image $IMAGE"
  if [[ -z $DRY_RUN ]]; then stage_context "$context"; fi
  build_command "$IMAGE" "$context"
  if ! run "${CMD[@]}"; then
    rm -rf "$context"
    die "building $IMAGE failed (see the docker build output above)"
  fi
  if [[ -z $DRY_RUN ]]; then rm -rf "$context"; fi
}

# --- the set-up, in the image ------------------------------------------------------------------------------

# setup_command VERB [ARG...]: shopbox-setup VERB (shopbox_setup/, installed in the image) in a throwaway shopbox
# container that drives the host's Docker through the socket, with this script's names, ports and versions file.
setup_command() {
  CMD=(docker run --rm -v "$(docker_socket):/var/run/docker.sock" -v "$VERSIONS_FILE:/run/shopbox/versions.env:ro"
    -e SHOPBOX_VERSIONS_FILE=/run/shopbox/versions.env -e "SHOPBOX_CLUSTER=$CLUSTER"
    -e "SHOPBOX_REGISTRY_NAME=$REGISTRY_NAME" -e "SHOPBOX_KIND_NETWORK=$KIND_NETWORK"
    -e "SHOPBOX_REGISTRY_PORT=$REGISTRY_PORT" -e "SHOPBOX_API_PORT=$API_PORT" -e "SHOPBOX_EDGE_PORT=$EDGE_PORT"
    -e "SHOPBOX_PROMETHEUS_PORT=$PROMETHEUS_PORT" "$IMAGE" shopbox-setup "$@")
}

# setup [--to FILE] VERB [ARG...]: run shopbox-setup VERB, its stdout (the verb's product) into FILE. A dry run
# prints that command, then the set-up's own plan (its dry run, which reads the engine), when the image exists.
setup() {
  local file=""
  if [[ $1 == --to ]]; then
    file=$2
    shift 2
  fi
  setup_command "$@"
  if [[ -z $file ]]; then run "${CMD[@]}"; else run_to "$file" "${CMD[@]}"; fi
  if [[ -n $DRY_RUN ]] && image_exists "$IMAGE"; then
    "${CMD[@]:0:2}" -e SHOPBOX_DRY_RUN=1 "${CMD[@]:2}"
  fi
}

# require_free_ports: the host ports a new registry or cluster would publish are free (checked here: a container
# does not see the host's ports).
require_free_ports() {
  if [[ -z $(container_state "$REGISTRY_NAME") ]] && port_in_use "$REGISTRY_PORT"; then
    die "port $REGISTRY_PORT (registry) is taken by another program: stop it, or use another port with SHOPBOX_REGISTRY_PORT=<port>"
  fi
  [[ -z $(docker ps -aq --filter "label=$NODE_LABEL") ]] || return 0
  ! port_in_use "$API_PORT" \
    || die "port $API_PORT (Kubernetes API) is taken by another program (Docker Desktop's Kubernetes?): stop it, or use SHOPBOX_API_PORT=<port>"
  ! port_in_use "$EDGE_PORT" \
    || die "port $EDGE_PORT (the edge's host port) is taken by another program: stop it, or use SHOPBOX_EDGE_PORT=<port>"
  ! port_in_use "$PROMETHEUS_PORT" \
    || die "port $PROMETHEUS_PORT (Prometheus' host port) is taken by another program: stop it, or use SHOPBOX_PROMETHEUS_PORT=<port>"
}

# cluster_up VERB: shopbox-setup VERB (up, or load) creates or reuses registry and cluster; the internal kubeconfig
# it prints is written to KUBECONFIG_INTERNAL.
cluster_up() {
  require_free_ports
  if [[ -z $DRY_RUN ]]; then mkdir -p "$CACHE"; fi
  setup --to "$KUBECONFIG_INTERNAL" "$@"
}

# --- the shell -------------------------------------------------------------------------------------------

# shell_command KUBECONFIG NETWORK [CMD...]: the docker run of the shell (interactive without CMD).
shell_command() {
  local kubeconfig=$1 network=$2
  shift 2
  shell_start "$@"
  CMD+=(--hostname shopbox --network "$network")
  if [[ $network != host ]]; then CMD+=("${LOOPBACK_IPV6[@]}"); fi
  shell_mounts
  CMD+=(-v "$kubeconfig:/run/shopbox/kubeconfig:ro"
    -e "SHOPBOX_UID=$(id -u)" -e "SHOPBOX_REGISTRY=localhost:$REGISTRY_PORT"
    -e "SHOPBOX_EDGE_PORT=$EDGE_PORT" -e "SHOPBOX_PROMETHEUS_PORT=$PROMETHEUS_PORT")
  if [[ $network == "$KIND_NETWORK" ]]; then
    CMD+=(-e "SHOPBOX_REGISTRY_FORWARD=$REGISTRY_PORT:$REGISTRY_NAME:5000")
  fi
  CMD+=("$IMAGE" "$@")
}

# shell_start [CMD...]: the start of a shell's docker run (a terminal when interactive, without CMD).
shell_start() {
  CMD=(docker run --rm -i)
  if [[ $# -eq 0 && -t 0 && -t 1 ]]; then CMD+=(-t); fi
}

# shell_mounts: the workspace at the same path (the working directory kept when inside it) and the Docker socket.
shell_mounts() {
  local workdir=$PWD
  [[ $workdir == "$WORKSPACE" || $workdir == "$WORKSPACE"/* ]] || workdir=$WORKSPACE
  CMD+=(-v "$WORKSPACE:$WORKSPACE" -w "$workdir" -v "$(docker_socket):/var/run/docker.sock")
}

# user_kubeconfig WHAT HINT: the first file of KUBECONFIG (else ~/.kube/config); an error naming WHAT if missing.
user_kubeconfig() {
  local first=${KUBECONFIG:-$HOME/.kube/config}
  first=${first%%:*}
  [[ -f $first ]] || die "$1: no kubeconfig at $first ($2)"
  echo "$first"
}

# user_network: the network for a container that uses the user's kubeconfig: the host's on Linux, so that an API
# server on the host's 127.0.0.1 stays reachable.
user_network() {
  if is_docker_desktop; then echo bridge; else echo host; fi
}

# start NO_CLUSTER [CMD...]: set up, then the interactive shell, or CMD in the shell (its exit code).
start() {
  local no_cluster=$1 network kubeconfig out=2
  shift
  # The set-up's own output goes to stderr, so that stdout is the shell's (`run -- CMD` output stays clean);
  # a dry run prints its plan on stdout.
  [[ -z $DRY_RUN ]] || out=1
  require_docker
  if [[ $no_cluster == no ]]; then require_privileged; fi
  ensure_image >&"$out"
  if [[ $no_cluster == yes ]]; then
    kubeconfig=$(user_kubeconfig --no-cluster "set KUBECONFIG, or run without --no-cluster for a local kind cluster")
    network=$(user_network)
  else
    cluster_up up >&"$out"
    kubeconfig=$KUBECONFIG_INTERNAL
    network=$KIND_NETWORK
  fi
  shell_command "$kubeconfig" "$network" "$@"
  if [[ $# -eq 0 ]]; then
    log "note: the shell gets this machine's Docker socket, which is as powerful as root here (shopbox/README.md, 'Docker socket')"
  fi
  run "${CMD[@]}"
}

# --- join: a classroom seat ----------------------------------------------------------------------------------

# absolute_path FILE: FILE under its absolute directory.
absolute_path() {
  local dir
  dir=$(cd "$(dirname "$1")" && pwd) || die "$1: no such directory"
  echo "$dir/$(basename "$1")"
}

# join_command FILE VERB: shopbox-join VERB FILE in a throwaway container, as this user (the join file is theirs,
# mode 600: run directly, not through the entrypoint, which would become the shell's user), the file mounted where it is and the working directory kept, so that errors name it as typed; on the
# network the joined shell uses (kind; Docker's default before it exists), to reach the API server as it will.
join_command() {
  local path network=bridge
  path=$(absolute_path "$1")
  if docker network inspect "$KIND_NETWORK" >/dev/null 2>&1; then network=$KIND_NETWORK; fi
  CMD=(docker run --rm --network "$network" --user "$(id -u):$(id -g)" -e HOME=/tmp -v "$path:$path:ro" -w "$PWD"
    --entrypoint shopbox-join "$IMAGE" "$2" "$1")
}

# join_check FILE: the join file checked against its cluster (format, expiry, the cluster holds the seat; refused
# in one line, exit 1), its settings read into the SEAT_* variables.
join_check() {
  local out line key
  join_command "$1" check
  out=$("${CMD[@]}") || exit 1
  for key in $SEAT_KEYS; do printf -v "$key" '%s' ""; done
  while IFS= read -r line; do
    key=${line%%=*}
    case " $SEAT_KEYS " in
      *" $key "*) printf -v "$key" '%s' "${line#*=}" ;;
      *) die "shopbox-join check: unexpected output: $line" ;;
    esac
  done <<<"$out"
  [[ -n $SEAT_NAME && -n $SEAT_NAMESPACE && -n $SEAT_REGISTRY ]] || die "shopbox-join check: no seat in its output"
}

forwarder_name() { echo "shopbox-seat-$SEAT_CLASS-$SEAT_NAME"; }

# forwarder_config FILE: what the forwarder was started with (the join file, the image, the host ports): a
# forwarder with another config is replaced.
forwarder_config() {
  { cat "$1"; echo "$IMAGE $EDGE_PORT $PROMETHEUS_PORT $REGISTRY_PORT ${LOOPBACK_IPV6[*]}"; } | sha256 | cut -c1-16
}

# forwarder_command FILE CONFIG: the seat's forwarder, `shopbox-join forward`: it listens for the edge, Prometheus
# and the seat's registry and forwards each connection through the API server to a ready pod, in the network
# namespace every shell of the seat shares, on the kind network (pages 1-2), its ports published on the host's
# 127.0.0.1; it also forwards localhost:5001 to the local registry (pages 1-2).
forwarder_command() {
  local path
  path=$(absolute_path "$1")
  CMD=(docker run -d --name "$(forwarder_name)" --label "$SEAT_LABEL=$SEAT_CLASS/$SEAT_NAME"
    --label "$SEAT_LABEL.config=$2" --hostname shopbox --network "$KIND_NETWORK" "${LOOPBACK_IPV6[@]}"
    -p "127.0.0.1:$EDGE_PORT:$SEAT_EDGE_LISTEN" -p "127.0.0.1:$PROMETHEUS_PORT:$SEAT_PROMETHEUS_LISTEN")
  if [[ -n $SEAT_REGISTRY_PORT ]]; then CMD+=(-p "127.0.0.1:$SEAT_REGISTRY_PORT:$SEAT_REGISTRY_PORT"); fi
  CMD+=(-v "$path:$JOIN_MOUNT:ro" -e "SHOPBOX_UID=$(id -u)"
    -e "SHOPBOX_REGISTRY_FORWARD=$REGISTRY_PORT:$REGISTRY_NAME:5000" "$IMAGE" shopbox-join forward)
}

# require_seat_port PORT WHAT [SETTING]: PORT is free on the host, else stop naming what holds it.
require_seat_port() {
  local holder
  port_in_use "$1" || return 0
  holder=$(docker ps --filter "publish=$1" --format '{{.Names}}' | head -n 1)
  die "port $1 ($2) is taken by ${holder:+container }${holder:-another program}: stop it (./shopbox.sh down removes shopbox's)${3:+, or use another port with $3=<port>}"
}

# ensure_forwarder FILE: the seat's forwarder running with this join file, image and ports (reused, else replaced).
ensure_forwarder() {
  local name config current
  name=$(forwarder_name)
  config=$(forwarder_config "$1")
  current=$(docker container inspect --format "{{.State.Status}} {{index .Config.Labels \"$SEAT_LABEL.config\"}}" \
    "$name" 2>/dev/null || true)
  if [[ $current == "running $config" ]]; then
    log "seat $SEAT_NAME: forwards kept open by container $name (reused)"
    return
  fi
  if [[ -n $current ]]; then run docker rm -f "$name" >/dev/null; fi
  require_seat_port "$EDGE_PORT" "the edge" SHOPBOX_EDGE_PORT
  require_seat_port "$PROMETHEUS_PORT" "Prometheus" SHOPBOX_PROMETHEUS_PORT
  if [[ -n $SEAT_REGISTRY_PORT ]]; then require_seat_port "$SEAT_REGISTRY_PORT" "the seat's registry"; fi
  forwarder_command "$1" "$config"
  run "${CMD[@]}" >/dev/null
  log "seat $SEAT_NAME: forwards kept open by container $name: edge http://localhost:$EDGE_PORT/qotm/, Prometheus http://localhost:$PROMETHEUS_PORT/${SEAT_REGISTRY_PORT:+, registry $SEAT_REGISTRY}"
}

# seat_shell_command FILE [CMD...]: the docker run of a shell bound to the seat, in its forwarder's network
# namespace (its forwards are this shell's localhost).
seat_shell_command() {
  local path
  path=$(absolute_path "$1")
  shift
  shell_start "$@"
  CMD+=(--network "container:$(forwarder_name)")
  shell_mounts
  CMD+=(-v "$path:$JOIN_MOUNT:ro" -e "SHOPBOX_UID=$(id -u)" -e "REGISTRY=$SEAT_REGISTRY"
    -e "SHOPBOX_EDGE_PORT=$EDGE_PORT" -e "SHOPBOX_PROMETHEUS_PORT=$PROMETHEUS_PORT"
    -e "FORGE_SERVICE_URLS=$SEAT_SERVICE_URLS" -e "SHOPBOX_SEAT=$SEAT_NAME" -e "SHOPBOX_SEAT_CLASS=$SEAT_CLASS"
    -e "SHOPBOX_SEAT_EXPIRES=$SEAT_EXPIRES" "$IMAGE" "$@")
}

# join_start FILE [CMD...]: check the join file, set up pages 1-2's part and the seat's forwarder, then the shell
# bound to the seat (or CMD in it).
join_start() {
  local file=$1 out=2
  shift
  [[ -z $DRY_RUN ]] || out=1
  require_docker
  ensure_image >&"$out"
  if [[ -n $DRY_RUN ]] && ! image_exists "$IMAGE"; then die "join: a dry run reads the join file with the image: ./shopbox.sh build first"; fi
  join_check "$file"
  log "join: seat $SEAT_NAME of class $SEAT_CLASS (namespace $SEAT_NAMESPACE) at $SEAT_SERVER, until $SEAT_EXPIRES"
  if [[ -z $(container_state "$REGISTRY_NAME") ]] && port_in_use "$REGISTRY_PORT"; then
    die "port $REGISTRY_PORT (registry) is taken by another program: stop it, or use another port with SHOPBOX_REGISTRY_PORT=<port>"
  fi
  setup local >&"$out"
  ensure_forwarder "$file" >&"$out"
  seat_shell_command "$file" "$@"
  run "${CMD[@]}"
}

# join_doctor FILE: the host's checks that matter without a local cluster, then shopbox-join doctor's.
join_doctor() {
  local out
  DOCKER_OK=""
  if [[ -z $(docker_problem) ]]; then
    DOCKER_OK=yes
    report ok docker-engine "reachable at ${DOCKER_HOST:-unix:///var/run/docker.sock}"
  else
    report fail docker-engine "$(docker_problem | head -1)" "$(docker_problem | tail -1)"
  fi
  doctor_port "$REGISTRY_PORT" "registry (pages 1-2)" "$REGISTRY_NAME" REGISTRY
  IMAGE=$(image_ref)
  if [[ -z $DOCKER_OK ]] || ! image_exists "$IMAGE"; then
    report skip join "needs Docker and the shopbox image (./shopbox.sh build)"
  else
    join_command "$1" doctor
    out=$("${CMD[@]}") || true
    echo "$out"
    FAILED=$((FAILED + $(grep -c '^\[FAIL\]' <<<"$out" || true)))
  fi
  echo "doctor: $FAILED failed"
  [[ $FAILED -eq 0 ]]
}

# --- class (the instructor's classroom commands) ---------------------------------------------------------

# class_command KUBECONFIG ARG...: shopbox-class ARG... in the shell image, as this user's uid and gid (the join
# files are theirs) and without the shell's entrypoint (no socket, no user switch, no welcome), in the current
# directory (names and registry files are read, join files written there), with the versions file (the per-seat
# registries' image).
class_command() {
  local kubeconfig=$1 network arg verb="" port=8000 previous="" socket group
  shift
  network=$(user_network)
  for arg in "$@"; do
    case $arg in
      portal | rehearse) [[ -n $verb ]] || verb=$arg ;;
      --port=*) port=${arg#--port=} ;;
      *) if [[ $previous == --port ]]; then port=$arg; fi ;;
    esac
    previous=$arg
  done
  CMD=(docker run --rm -i)
  if [[ -t 0 && -t 1 ]]; then CMD+=(-t); fi
  # The portal listens in the container: publish its port where the container has a network of its own.
  if [[ $verb == portal && $network != host ]]; then CMD+=(-p "$port:$port"); fi
  CMD+=(--network "$network" --user "$(id -u):$(id -g)" -v "$PWD:$PWD" -w "$PWD"
    -v "$kubeconfig:/run/shopbox/kubeconfig:ro" -e KUBECONFIG=/run/shopbox/kubeconfig -e HOME=/tmp
    -v "$VERSIONS_FILE:/run/shopbox/versions.env:ro" -e SHOPBOX_VERSIONS_FILE=/run/shopbox/versions.env
    -e "SHOPBOX_CLASS=${SHOPBOX_CLASS:-}")
  if [[ $verb == rehearse ]]; then
    # The rehearsal runs ./shopbox.sh join for its seats, from its copies of this directory: the Docker socket
    # (and its group), and this run's versions file, image and cache at the paths the host's Docker knows them by.
    socket=$(docker_socket) || die "class rehearse: needs the Docker engine on a local socket (DOCKER_HOST=${DOCKER_HOST:-})"
    mkdir -p "$CACHE"
    CMD+=(-v "$socket:/var/run/docker.sock" -v "$VERSIONS_FILE:$VERSIONS_FILE:ro" -v "$CACHE:$CACHE"
      -e "SHOPBOX_REHEARSE_VERSIONS_FILE=$VERSIONS_FILE" -e "SHOPBOX_IMAGE=$IMAGE" -e "SHOPBOX_CACHE=$CACHE")
    if group=$(stat -c %g "$socket" 2>/dev/null || stat -f %g "$socket" 2>/dev/null); then CMD+=(--group-add "$group"); fi
  fi
  CMD+=(--entrypoint shopbox-class "$IMAGE" "$@")
}

class_commands() {
  local kubeconfig
  kubeconfig=$(user_kubeconfig class "set KUBECONFIG to the class cluster's kubeconfig")
  require_docker
  ensure_image >&2
  class_command "$kubeconfig" "$@"
  run "${CMD[@]}"
}

# --- down / prefetch / load ------------------------------------------------------------------------------

# down_image: this version's shell image, else the newest one of the repository already here: `down` only removes
# containers, and building an image for that (after a pull changed its inputs, or an image prune) takes minutes.
down_image() {
  local newest
  IMAGE=$(image_ref)
  if image_exists "$IMAGE"; then return; fi
  newest=$(docker images --format '{{.Repository}}:{{.Tag}}' "${IMAGE%:*}" 2>/dev/null | grep -v ':<none>$' | head -n 1 || true)
  if [[ -z $newest ]]; then
    ensure_image
    return
  fi
  log "image $IMAGE is not built; down uses $newest"
  IMAGE=$newest
}

down() {
  require_docker
  down_image
  setup down
  run rm -f "$KUBECONFIG_INTERNAL"
}

# prefetch FILE: shopbox-setup pulls the pins and lists what the bundle holds; the save runs here, on the host
# (streamed out of the set-up container's stdout it took 6 times as long).
prefetch() {
  local list=$CACHE/prefetch-images image
  local images=()
  require_docker
  ensure_image
  if [[ -z $DRY_RUN ]]; then mkdir -p "$CACHE"; fi
  setup --to "$list" prefetch "$IMAGE"
  if [[ -n $DRY_RUN ]]; then
    echo "+ docker save -o $(quote "$1") \$(cat $(quote "$list"))"
  else
    while IFS= read -r image; do images+=("$image"); done <"$list"
    docker save -o "$1" "${images[@]}"
  fi
  log "bundle $1"
}

load() {
  [[ -f $1 ]] || die "load: bundle $1 not found (make one with ./shopbox.sh prefetch on a connected machine)"
  require_docker
  run docker load -i "$1"
  ensure_image
  cluster_up load
}

# --- doctor ----------------------------------------------------------------------------------------------

FAILED=0
MISSING=0

# report STATUS NAME DETAIL [FIX]: one doctor line (STATUS: ok, warn, fail, missing, skip).
report() {
  local label
  case $1 in
    ok) label=" OK " ;;
    warn) label="WARN" ;;
    fail) label="FAIL"; FAILED=$((FAILED + 1)) ;;
    missing) label="MISS"; MISSING=$((MISSING + 1)) ;;
    *) label="SKIP" ;;
  esac
  printf '[%s] %-14s %s\n' "$label" "$2" "$3"
  [[ -z ${4:-} ]] || printf '       %-14s fix: %s\n' "" "$4"
}

# doctor_cluster: the in-cluster checks (kind network, registry /v2/, API server /livez) by shopbox-setup doctor
# in the image, on the host's network (Docker Desktop: through host.docker.internal); counted here.
doctor_cluster() {
  local out
  ARCH=$(engine_arch) || ARCH=amd64
  IMAGE=$(image_ref)
  if ! docker_socket >/dev/null; then
    doctor_cluster_skipped "needs a local Docker socket to mount into the shopbox image"
    return
  elif ! image_exists "$IMAGE"; then
    doctor_cluster_skipped "needs the shopbox image: ./shopbox.sh build (or ./shopbox.sh) builds it"
    return
  fi
  setup_command doctor
  if is_docker_desktop; then
    CMD=("${CMD[@]:0:2}" -e SHOPBOX_HOST=host.docker.internal "${CMD[@]:2}")
  else
    CMD=("${CMD[@]:0:2}" --network host "${CMD[@]:2}")
  fi
  if ! out=$("${CMD[@]}"); then
    doctor_cluster_skipped "shopbox-setup doctor failed in $IMAGE (its error is above)"
    return
  fi
  echo "$out"
  FAILED=$((FAILED + $(grep -c '^\[FAIL\]' <<<"$out" || true)))
  MISSING=$((MISSING + $(grep -c '^\[MISS\]' <<<"$out" || true)))
}

doctor_cluster_skipped() {
  report skip kind-network "$1"
  report skip registry "$1"
  report skip api-server "$1"
}

# socket_owner PATH: "owner UID:GID, mode srw-rw----" (ls: the same on GNU and BSD, unlike stat).
socket_owner() {
  # shellcheck disable=SC2012 # one known path
  ls -lnL "$1" | awk '{print "owner " $3 ":" $4 ", mode " $1}'
}

doctor_port() {  # doctor_port PORT WHAT CONTAINER SETTING
  if ! port_in_use "$1"; then
    report ok "port $1" "free ($2)"
  elif [[ -n $DOCKER_OK ]] && container_publishes "$3" "$1"; then
    report ok "port $1" "used by $3 ($2)"
  else
    report fail "port $1" "taken by another program; shopbox needs it for the $2" \
      "stop that program, or pick another port: SHOPBOX_$4_PORT=<port> ./shopbox.sh"
  fi
}

# doctor_architecture: the engine's architecture, which every image shopbox builds and runs takes; on arm64, what
# shopbox's CI (amd64 machines) tests of it.
doctor_architecture() {
  local arch note=""
  if ! arch=$(engine_arch); then
    report fail architecture "$(docker info --format '{{.Architecture}}') is not supported" "use an amd64 or arm64 machine"
    return
  fi
  if [[ $arch == arm64 ]]; then
    note="; CI builds the shell and the services' arm64 images and runs them under emulation (qemu on amd64), not the cluster or the labs on an arm64 machine"
  fi
  if [[ -n $DEFAULT_PLATFORM && $DEFAULT_PLATFORM != "linux/$arch" ]]; then
    note+="; DOCKER_DEFAULT_PLATFORM=$DEFAULT_PLATFORM is set aside"
  fi
  report ok architecture "$arch: the shell image, the kind node and forge's images are linux/$arch$note"
}

doctor() {
  local problem socket version free_kb dir watches instances status detail fix
  DOCKER_OK=""
  if command -v docker >/dev/null 2>&1; then
    report ok docker-cli "$(command -v docker) ($(docker version --format '{{.Client.Version}}' 2>/dev/null | head -1))"
  else
    report fail docker-cli "not installed" "install Docker Desktop (macOS/Windows) or Docker Engine (Linux): https://docs.docker.com/get-docker/"
  fi
  problem=$(docker_problem)
  if [[ -z $problem ]]; then
    DOCKER_OK=yes
    version=$(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')
    report ok docker-engine "reachable at ${DOCKER_HOST:-unix:///var/run/docker.sock}, engine $version"
  else
    report fail docker-engine "$(echo "$problem" | head -1)" "$(echo "$problem" | tail -1)"
  fi

  if socket=$(docker_socket); then
    if [[ ! -e $socket ]]; then
      report warn docker-socket "$socket does not exist on this machine" \
        "Docker Desktop: enable 'Allow the default Docker socket to be used' (Settings > Advanced)"
    elif [[ -r $socket && -w $socket ]]; then
      report ok docker-socket "$socket is readable and writable by $(id -un) ($(socket_owner "$socket"))"
    else
      report fail docker-socket "$socket is not accessible to $(id -un) ($(socket_owner "$socket"))" \
        "sudo usermod -aG docker $(id -un), then log out and in again"
    fi
  else
    report fail docker-socket "DOCKER_HOST=$DOCKER_HOST is not a local unix socket" "unset DOCKER_HOST or point it at unix://<socket>"
  fi

  if [[ -n $DOCKER_OK ]]; then
    doctor_architecture
    IFS='|' read -r status detail fix <<<"$(engine_note "$(engine_kind)")"
    report "$status" platform "$detail" "$fix"
  fi

  if [[ -n $DOCKER_OK ]]; then
    if [[ $(engine_cgroup_version) == 1 ]]; then
      report warn cgroups "the engine runs cgroup v1: Kubernetes >= 1.35 refuses it by default; shopbox sets the kubelet's failCgroupV1: false and skips kubeadm's SystemVerification check, so the cluster works, but cgroup v1 support is deprecated" \
        "boot the host (or Docker's VM) with cgroup v2 (kernel option systemd.unified_cgroup_hierarchy=1)"
    else
      report ok cgroups "v2"
    fi
    problem=$(privileged_problem)
    if [[ -z $problem ]]; then
      report ok privileged "the engine starts privileged containers (kind's nodes are privileged)"
    elif [[ $problem == unknown:* ]]; then
      report skip privileged "not checked: ${problem#unknown: }"
    else
      report fail privileged "the engine cannot start a privileged container: $problem" "$PRIVILEGED_FIX"
    fi
  else
    report skip cgroups "needs Docker"
    report skip privileged "needs Docker"
  fi

  doctor_port "$REGISTRY_PORT" "registry" "$REGISTRY_NAME" REGISTRY
  doctor_port "$API_PORT" "Kubernetes API server" "$CLUSTER-control-plane" API
  doctor_port "$EDGE_PORT" "edge (Envoy NodePort $EDGE_NODE_PORT)" "$CLUSTER-control-plane" EDGE
  doctor_port "$PROMETHEUS_PORT" "Prometheus (NodePort $PROMETHEUS_NODE_PORT)" "$CLUSTER-control-plane" PROMETHEUS

  dir=$HOME
  if [[ -n $DOCKER_OK ]]; then
    dir=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo "$HOME")
    [[ -d $dir ]] || dir=$HOME  # Docker Desktop: the root dir is inside its VM
  fi
  free_kb=$(df -Pk "$dir" | awk 'NR == 2 {print $4}')
  if ((free_kb >= 10 * 1024 * 1024)); then
    report ok disk "$((free_kb / 1024 / 1024)) GiB free on $dir"
  else
    report warn disk "$((free_kb / 1024 / 1024)) GiB free on $dir; the images and cluster need about 10 GiB" \
      "docker system prune (removes unused images and containers), or free space on $dir"
  fi

  if [[ -r /proc/sys/fs/inotify/max_user_watches ]]; then
    watches=$(cat /proc/sys/fs/inotify/max_user_watches)
    instances=$(cat /proc/sys/fs/inotify/max_user_instances)
    if ((watches >= 524288 && instances >= 512)); then
      report ok inotify "max_user_watches=$watches max_user_instances=$instances"
    else
      report warn inotify "max_user_watches=$watches max_user_instances=$instances (kind needs 524288 and 512)" \
        "sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512"
    fi
  else
    report skip inotify "no /proc/sys/fs/inotify here (Docker Desktop: the limits of its VM apply)"
  fi

  if [[ -z $DOCKER_OK ]]; then
    doctor_cluster_skipped "needs Docker"
  else
    doctor_cluster
  fi

  echo "doctor: $FAILED failed, $MISSING missing$([[ $MISSING -eq 0 ]] || echo ' (./shopbox.sh creates what is missing)')"
  [[ $FAILED -eq 0 ]]
}

# --- main ------------------------------------------------------------------------------------------------

main() {
  local no_cluster=no command="" argument=""
  while [[ $# -gt 0 ]]; do
    case $1 in
      -h | --help) usage; return 0 ;;
      --no-cluster) no_cluster=yes ;;
      run)
        [[ -z $command ]] || die "only one command at a time (got $command and $1); see ./shopbox.sh --help"
        [[ ${2:-} == -- && $# -gt 2 ]] || die "run needs the command after --: ./shopbox.sh run -- COMMAND [ARG...]"
        shift 2
        load_versions
        start "$no_cluster" "$@"
        return
        ;;
      join)
        [[ -z $command && $no_cluster == no ]] || die "join takes no other command or option before it; see ./shopbox.sh --help"
        [[ -n ${2:-} && ${2:-} != -* ]] || die "join needs the seat's join file: ./shopbox.sh join FILE"
        [[ -f $2 ]] || die "$2: no such file (the join file your instructor gave you)"
        load_versions
        case ${3:-} in
          "") join_start "$2" ;;
          doctor)
            [[ $# -eq 3 ]] || die "unexpected argument '$4' after doctor; see ./shopbox.sh --help"
            ARCH=$(engine_arch 2>/dev/null) || ARCH=amd64
            join_doctor "$2"
            ;;
          run)
            [[ ${4:-} == -- && $# -gt 4 ]] || die "run needs the command after --: ./shopbox.sh join FILE run -- COMMAND [ARG...]"
            argument=$2
            shift 4
            join_start "$argument" "$@"
            ;;
          *) die "unexpected argument '$3' after the join file; see ./shopbox.sh --help" ;;
        esac
        return
        ;;
      class)
        [[ -z $command && $no_cluster == no ]] || die "class takes no other command or option before it; see ./shopbox.sh --help"
        shift
        load_versions
        class_commands "$@"
        return
        ;;
      doctor | build | down | prefetch | load)
        [[ -z $command ]] || die "only one command at a time (got $command and $1); see ./shopbox.sh --help"
        command=$1
        ;;
      -*) die "unknown option $1; see ./shopbox.sh --help" ;;
      *)
        if [[ $command != load && $command != prefetch ]] || [[ -n $argument ]]; then
          die "unexpected argument '$1'; see ./shopbox.sh --help"
        fi
        argument=$1
        ;;
    esac
    shift
  done
  [[ $no_cluster == no || -z $command ]] || die "--no-cluster only applies to starting the shell, not to $command"
  load_versions
  case $command in
    "") start "$no_cluster" ;;
    doctor) doctor ;;
    build) require_docker; ensure_image; echo "$IMAGE" ;;
    down) down ;;
    prefetch) prefetch "${argument:-shopbox-bundle.tar}" ;;
    load)
      [[ -n $argument ]] || die "load needs the bundle file: ./shopbox.sh load BUNDLE"
      load "$argument"
      ;;
  esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
