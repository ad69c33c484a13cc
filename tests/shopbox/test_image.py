"""The shopbox image, built offline from shopbox/Dockerfile by `shopbox.sh build` (local tools, wheelhouse and
base image through build arguments), then run: tools, completion, prompt, non-root user, the Docker socket
group, the kubeconfig, the registry forward, and a checksum that does not match."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import tarfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

import forge
from tests.platform.procs import free_port, port_open, running
from tests.shopbox import offline_image
from tests.shopbox.script import argv, call

pytestmark = pytest.mark.docker


def run(image: str, *command: str, docker_args: tuple[str, ...] = (), stdin: str | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "run", "--rm", "-i", *docker_args, image, *command], input=stdin or "",
                          capture_output=True, text=True, timeout=timeout)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stdout}\n{result.stderr}"
    return result.stdout


def test_forge_is_installed_from_this_repository(shopbox_image):
    assert ok(run(shopbox_image, "forge", "--version")).split()[-1] == forge.__version__


def test_lab_is_installed_and_finds_the_pages_of_the_workspace(shopbox_image):
    """`lab` (the exercises' runner) is on PATH and reads the pages of the repository it runs in."""
    root = offline_image.ROOT
    out = ok(subprocess.run(["docker", "run", "--rm", "-v", f"{root}:{root}:ro", "-w", str(root), shopbox_image,
                             "lab", "list"], capture_output=True, text=True, timeout=120))
    assert "01-docker.md" in out and "07-canary.md" in out


def test_tools_are_the_verified_ones(shopbox_image):
    local_kubectl = subprocess.run([str(offline_image.LOCAL_KUBECTL), "version", "--client"], capture_output=True,
                                   text=True).stdout.splitlines()[0]
    assert ok(run(shopbox_image, "kubectl", "version", "--client")).splitlines()[0] == local_kubectl
    version = offline_image.versions()["KIND_VERSION"]
    assert ok(run(shopbox_image, "kind", "version")).startswith(f"kind v{version} ")
    assert "Docker version" in ok(run(shopbox_image, "docker", "--version"))


def test_exercise_tools_are_on_path(shopbox_image):
    tools = ("curl", "jq", "dig", "git", "nano", "vi", "hey", "socat", "less", "python3", "envsubst")
    ok(run(shopbox_image, "bash", "-c", " && ".join(f"command -v {tool}" for tool in tools)))


def test_completion_is_loaded_in_an_interactive_shell(shopbox_image):
    out = ok(run(shopbox_image, "bash", "-ic", "complete -p kubectl kind forge docker k"))
    assert "-F __start_kubectl kubectl" in out
    assert "-F __start_kind kind" in out
    assert "_forge_completion forge" in out
    assert "-F __start_kubectl k\n" in out  # the `k` alias completes like kubectl


def test_forge_completion_answers(shopbox_image):
    out = ok(run(shopbox_image, "bash", "-c", "COMP_WORDS='forge ' COMP_CWORD=1 _FORGE_COMPLETE=bash_complete forge"))
    assert "deploy" in out


def test_runs_as_a_non_root_user(shopbox_image):
    assert ok(run(shopbox_image, "id", "-u")).strip() == "1000"
    assert ok(run(shopbox_image, "id", "-un")).strip() == "shopbox"


def test_takes_the_host_users_uid(shopbox_image):
    out = ok(run(shopbox_image, "sh", "-c", "id -u; stat -c %u $HOME", docker_args=("-e", "SHOPBOX_UID=4321")))
    assert out.split() == ["4321", "4321"]


def test_welcome_names_the_next_step(shopbox_image):
    out = ok(run(shopbox_image))  # the default command: the shell, with stdin closed
    assert "Next step: open exercises/01-docker.md" in out and "`lab check`" in out
    assert f"forge {forge.__version__}" in out
    assert "$REGISTRY = localhost:5001" in out
    assert "the edge http://localhost:8080/qotm/ | Prometheus http://localhost:9090/" in out


def test_the_shell_exports_the_names_the_pages_use(shopbox_image):
    """REGISTRY and the browser addresses (exercises/README.md, "Names"), from the ports ./shopbox.sh passes; a
    value set already (a classroom seat's) is kept."""
    show = 'echo "$REGISTRY $SHOPBOX_EDGE_URL $SHOPBOX_PROMETHEUS_URL"'
    assert ok(run(shopbox_image, "bash", "-c", show)).split() == [
        "localhost:5001", "http://localhost:8080", "http://localhost:9090"]
    ported = ("-e", "SHOPBOX_REGISTRY=localhost:5002", "-e", "SHOPBOX_EDGE_PORT=18080",
              "-e", "SHOPBOX_PROMETHEUS_PORT=19090")
    assert ok(run(shopbox_image, "bash", "-c", show, docker_args=ported)).split() == [
        "localhost:5002", "http://localhost:18080", "http://localhost:19090"]
    seat = ("-e", "REGISTRY=registry.example:5000/seat-ana", "-e", "SHOPBOX_EDGE_URL=http://localhost:28080")
    assert ok(run(shopbox_image, "bash", "-c", show, docker_args=seat)).split() == [
        "registry.example:5000/seat-ana", "http://localhost:28080", "http://localhost:9090"]
    assert ok(run(shopbox_image, "bash", "-c", show, docker_args=("--user", "1000"))).split() == [
        "localhost:5001", "http://localhost:8080", "http://localhost:9090"]


@pytest.fixture
def fake_socket(tmp_path):
    """A unix socket file owned by gid 4242 (a group the image does not have), mode 660."""
    path = tmp_path / "docker.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    os.chown(path, 0, 4242)
    path.chmod(0o660)
    yield path
    server.close()


def test_joins_the_group_that_owns_the_socket(shopbox_image, fake_socket):
    before = fake_socket.stat()
    out = ok(run(shopbox_image, "sh", "-c", "id -G; test -w /var/run/docker.sock && echo writable",
                 docker_args=("-v", f"{fake_socket}:/var/run/docker.sock")))
    groups, verdict = out.splitlines()
    assert "4242" in groups.split() and verdict == "writable"
    after = fake_socket.stat()
    assert (after.st_uid, after.st_gid, after.st_mode) == (before.st_uid, before.st_gid, before.st_mode)


def test_real_docker_socket_works_as_the_user(shopbox_image, docker_client):
    host_socket = Path("/var/run/docker.sock")
    before = host_socket.stat()
    out = ok(run(shopbox_image, "sh", "-c", "id -u; docker version --format '{{.Server.Version}}'",
                 docker_args=("-v", f"{host_socket}:/var/run/docker.sock")))
    uid, server = out.split()
    assert uid != "0" and server == docker_client.version()["Version"]
    after = host_socket.stat()
    assert (after.st_uid, after.st_gid, after.st_mode) == (before.st_uid, before.st_gid, before.st_mode)


def test_kubeconfig_and_prompt(shopbox_image, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: kind-shopbox\n"
        "clusters: [{name: kind-shopbox, cluster: {server: 'https://shopbox-control-plane:6443'}}]\n"
        "users: [{name: kind-shopbox, user: {}}]\n"
        "contexts: [{name: kind-shopbox, context: {cluster: kind-shopbox, user: kind-shopbox, namespace: qotm}}]\n")
    kubeconfig.chmod(0o600)  # root-only on the host: the entrypoint still hands it to the user
    out = ok(run(shopbox_image, "bash", "-ic", 'stat -c "%U %a" ~/.kube/config; __shopbox_kube; echo; echo "$PS1"',
                 docker_args=("-v", f"{kubeconfig}:/run/shopbox/kubeconfig:ro")))
    owner, prompt_part, ps1 = out.splitlines()
    assert owner == "shopbox 600"
    assert prompt_part == "kind-shopbox/qotm"
    assert "__shopbox_kube" in ps1


def test_a_seats_join_file_becomes_the_users_kubeconfig_and_docker_credentials(shopbox_image, tmp_path):
    """`./shopbox.sh join FILE` mounts the join file (mode 600, the host user's; here root's): the entrypoint gives
    the user a copy (SHOPBOX_JOIN), the seat's kubeconfig and the seat registry's login; the welcome names the
    seat."""
    from classroom import joinfile
    from classroom.model import ClassSpec, Registry

    ends = datetime.now(UTC) + timedelta(hours=2)
    spec = ClassSpec("room", ends, "cluster-a", "https://k8s.example:6443", "")
    data = joinfile.build(spec, "ana", "room-ana", Registry("localhost:31000", "ana", "s3cret", "registry-ana-0", 5000),
                          "tok.en.x", ends)
    joinfile.write(tmp_path / "ana.yaml", data)
    script = ('stat -c "%U %a" ~/.kube/config "$SHOPBOX_JOIN" ~/.docker/config.json; __shopbox_kube; echo; '
              'jq -c .auths ~/.docker/config.json; kubectl config view --minify --raw -o jsonpath="{..token}"; echo')
    out = ok(run(shopbox_image, "bash", "-ic", script,
                 docker_args=("-v", f"{tmp_path / 'ana.yaml'}:/run/shopbox/join.yaml:ro")))
    *owners, prompt_part, auths, token = out.splitlines()
    assert owners == ["shopbox 600"] * 3
    assert prompt_part == "room-ana/room-ana"
    assert auths == '{"localhost:31000":{"auth":"YW5hOnMzY3JldA=="}}'  # ana:s3cret
    assert token == "tok.en.x"
    welcome = ok(run(shopbox_image, docker_args=("-v", f"{tmp_path / 'ana.yaml'}:/run/shopbox/join.yaml:ro", "-e",
                                                 "SHOPBOX_SEAT=ana", "-e", "SHOPBOX_SEAT_CLASS=room", "-e",
                                                 "SHOPBOX_SEAT_EXPIRES=2030-05-04T17:00:00Z")))
    assert "seat ana of class room, until 2030-05-04T17:00:00Z" in welcome


def test_registry_forward_makes_localhost_the_registry(shopbox_image, registry):
    port = free_port()
    forward = f"{port}:{registry.host}"  # PORT:HOST:HOSTPORT, here the test registry on the host's loopback
    script = f"for i in $(seq 50); do curl -sf http://127.0.0.1:{port}/v2/_catalog && exit 0; sleep 0.1; done; exit 1"
    out = ok(run(shopbox_image, "bash", "-c", script,
                 docker_args=("--network", "host", "-e", f"SHOPBOX_REGISTRY_FORWARD={forward}")))
    assert out.strip() == requests.get(f"{registry.url}/v2/_catalog", timeout=5).text.strip()


def test_a_tool_that_does_not_match_its_checksum_fails_the_build(shopbox_image, tmp_path):
    """The same verification the pinned downloads go through, fed a wrong checksum for kind."""
    tools = offline_image.tools_dir(tmp_path / "tools")
    env = {k: v for k, v in offline_image.build_env(tools).items() if k.startswith("SHOPBOX_")}
    context = tmp_path / "context"
    call(f"ARCH=amd64; stage_context {context}", env)
    command = argv(f"ARCH=amd64; build_command shopbox-test/bad-checksum:{time.time_ns()} {context}", env)
    wrong = "0" * 64
    command = [f"KIND_SHA256_AMD64={wrong}" if arg.startswith("KIND_SHA256_AMD64=") else arg for arg in command]
    command.insert(command.index("build") + 1, "--force-rm")  # no stopped container left from the failed step
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert f"install-tools: kind does not match KIND_SHA256_AMD64={wrong}" in result.stdout + result.stderr


def _mirror_tree(root: Path, tools: Path) -> dict[str, Path]:
    """Lay out the local binaries where the pinned download URLs point (host/path under root), like a mirror of
    dl.k8s.io, github.com and download.docker.com, with the publishers' checksum files (buildx's lists every
    asset of the release)."""
    pinned = offline_image.versions()
    buildx = f"github.com/docker/buildx/releases/download/v{pinned['BUILDX_VERSION']}"
    files = {
        "kubectl": root / f"dl.k8s.io/release/v{pinned['KUBECTL_VERSION']}/bin/linux/amd64/kubectl",
        "kind": root / f"github.com/kubernetes-sigs/kind/releases/download/v{pinned['KIND_VERSION']}/kind-linux-amd64",
        "docker": root / f"download.docker.com/linux/static/stable/x86_64/docker-{pinned['DOCKER_CLI_VERSION']}.tgz",
        "compose": root / f"github.com/docker/compose/releases/download/v{pinned['COMPOSE_VERSION']}/"
                          "docker-compose-linux-x86_64",
        "buildx": root / f"{buildx}/buildx-v{pinned['BUILDX_VERSION']}.linux-amd64",
    }
    for path in files.values():
        path.parent.mkdir(parents=True)
    shutil.copy2(tools / "kubectl", files["kubectl"])
    shutil.copy2(tools / "kind", files["kind"])
    shutil.copy2(tools / "compose", files["compose"])
    shutil.copy2(tools / "buildx", files["buildx"])
    with tarfile.open(files["docker"], "w:gz") as archive:
        archive.add(tools / "docker", arcname="docker/docker")
    Path(f"{files['kubectl']}.sha256").write_text(_sha256(files["kubectl"]))
    Path(f"{files['kind']}.sha256sum").write_text(f"{_sha256(files['kind'])}  kind-linux-amd64\n")
    Path(f"{files['compose']}.sha256").write_text(f"{_sha256(files['compose'])} *docker-compose-linux-x86_64\n")
    others = "".join(f"{'0' * 64} *buildx-v{pinned['BUILDX_VERSION']}.{asset}\n" for asset in ("darwin-amd64",
                                                                                               "linux-amd64.json"))
    (root / buildx / "checksums.txt").write_text(
        f"{others}{_sha256(files['buildx'])} *{files['buildx'].name}\n{'f' * 64} *{files['buildx'].name}.sbom.json\n")
    return files


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_download_path_through_a_mirror(shopbox_image, tmp_path, docker_client):
    """TOOLS_FROM=download (the default) against a local mirror: curl, the docker tarball, and the fallback to
    the publisher's checksum file when no checksum is pinned (kubectl, compose, and buildx's multi-line one here)."""
    mirror = tmp_path / "mirror"
    files = _mirror_tree(mirror, offline_image.tools_dir(tmp_path / "tools"))
    port = free_port()
    env = {"SHOPBOX_TOOLS_MIRROR": f"http://127.0.0.1:{port}", "SHOPBOX_WHEELS_DIR": str(offline_image.wheelhouse()),
           "SHOPBOX_BASE_IMAGE": offline_image.ensure(offline_image.BASE)}
    context = tmp_path / "context"
    call(f"ARCH=amd64; stage_context {context}", env)
    ref = f"shopbox-test/download-path:{time.time_ns()}"
    overrides = {"KUBECTL_SHA256_AMD64": "", "KIND_SHA256_AMD64": _sha256(files["kind"]),
                 "DOCKER_CLI_SHA256_AMD64": _sha256(files["docker"]), "COMPOSE_SHA256_AMD64": "",
                 "BUILDX_SHA256_AMD64": ""}
    command = []
    for arg in argv(f"ARCH=amd64; build_command {ref} {context}", env):
        name = arg.split("=", 1)[0]
        command.append(f"{name}={overrides[name]}" if name in overrides and "=" in arg else arg)
    command[command.index("build") + 1:command.index("build") + 1] = ["--network=host", "--force-rm"]
    server = ["python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(mirror), str(port)]
    log = tmp_path / "mirror.log"
    with running(server, log, ready=lambda: port_open(port), what="mirror"):
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    try:
        assert "kubectl, kind, docker, compose, buildx installed from download (amd64), checksums verified" \
            in result.stdout + result.stderr
        requested = log.read_text()
        for path in (*files.values(), Path(f"{files['kubectl']}.sha256"), Path(f"{files['compose']}.sha256"),
                     files["buildx"].parent / "checksums.txt"):
            assert f'"GET /{path.relative_to(mirror)} HTTP' in requested
        assert ".sha256sum" not in requested  # kind's checksum is pinned: its checksum file is not needed
        out = ok(run(ref, "sh", "-c", "kind version; docker --version; kubectl version --client; "
                               "docker compose version; docker buildx version"))
        assert f"kind v{offline_image.versions()['KIND_VERSION']} " in out and "Docker version" in out
        assert f"Docker Compose version v{offline_image.versions()['COMPOSE_VERSION']}" in out
        assert f"github.com/docker/buildx v{offline_image.versions()['BUILDX_VERSION']}" in out
    finally:
        docker_client.images.remove(ref, force=True)
