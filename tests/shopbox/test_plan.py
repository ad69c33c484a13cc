"""What `./shopbox.sh` does, decided from the real Docker engine's state: with SHOPBOX_DRY_RUN=1 it prints each
command instead of running it (the kind cluster cannot be created here: no node image can be pulled). The
registry and `down` run for real."""

from __future__ import annotations

import os
import re
import socket

import pytest
import requests

from tests.platform.procs import wait_for
from tests.shopbox.conftest import docker, start_node, versions_with_registry
from tests.shopbox.offline_image import ROOT, versions
from tests.shopbox.script import call, run_script

pytestmark = pytest.mark.docker

SOCKET_MOUNT = "-v /var/run/docker.sock:/var/run/docker.sock"


def plan(env: dict[str, str], *args: str) -> list[tuple[str, str]]:
    """Run a dry run; return (command, stdin) pairs in order."""
    result = run_script(*args, env={**env, "SHOPBOX_DRY_RUN": "1"})
    assert result.returncode == 0, result.stderr
    steps: list[tuple[str, str]] = []
    lines = iter(result.stdout.splitlines())
    for line in lines:
        assert line.startswith("+ "), f"unexpected output line: {line!r}"
        command, stdin = line[2:], ""
        if command.endswith(" <<EOF"):
            command = command[: -len(" <<EOF")]
            body = []
            for body_line in lines:
                if body_line == "EOF":
                    break
                body.append(body_line)
            stdin = "\n".join(body) + "\n"
        steps.append((command, stdin))
    return steps


def test_fresh_machine(setup, python_base_image):
    s = setup
    env = {**s.env, "SHOPBOX_IMAGE": python_base_image}  # an image that exists: no build in the plan
    steps = plan(env)
    tool = f"docker run --rm {SOCKET_MOUNT}"  # stdin only for the commands that read it (-i)
    network_env = f"-e KIND_EXPERIMENTAL_DOCKER_NETWORK={s.network}"
    kubeconfig = f"{s.cache}/kubeconfig-{s.cluster}-internal"
    certs = f"/etc/containerd/certs.d/localhost:{s.registry_port}"
    assert [command for command, _ in steps] == [
        f"docker run -d --restart=always --name {s.registry} -p 127.0.0.1:{s.registry_port}:5000 --network bridge "
        f"{versions()['REGISTRY_IMAGE']}",
        f"{tool} -i {network_env} {python_base_image} kind create cluster --name {s.cluster} --config=- --wait 2m",
        f"docker exec {s.node} mkdir -p {certs}",
        f"docker exec -i {s.node} cp /dev/stdin {certs}/hosts.toml",
        f"docker network connect {s.network} {s.registry}",
        f"{tool} {network_env} {python_base_image} kind get kubeconfig --internal --name {s.cluster} > {kubeconfig}",
        f"{tool} -i --network {s.network} -v {kubeconfig}:/run/shopbox/kubeconfig:ro {network_env} {python_base_image} "
        "kubectl apply -f -",
        f"docker run --rm -i --hostname shopbox --network {s.network} -v {ROOT}:{ROOT} -w {ROOT} {SOCKET_MOUNT} "
        f"-v {kubeconfig}:/run/shopbox/kubeconfig:ro -e SHOPBOX_UID={os.getuid()} "
        f"-e SHOPBOX_REGISTRY=localhost:{s.registry_port} "
        f"-e SHOPBOX_REGISTRY_FORWARD={s.registry_port}:{s.registry}:5000 {python_base_image}",
    ]
    stdin = {command.split(" --config")[0].split()[-1] if "kind create" in command else command.split()[-1]: body
             for command, body in steps if body}
    assert stdin[s.cluster] == call("kind_config", s.env)
    assert stdin[f"{certs}/hosts.toml"] == call("hosts_toml", s.env)
    assert stdin["-"] == call("registry_configmap", s.env)


def test_the_image_is_built_when_missing(setup):
    steps = plan(setup.env)
    build = steps[0][0]
    tag = call("ARCH=amd64; image_ref", setup.env).strip()
    assert build.startswith(f"env DOCKER_BUILDKIT=0 docker build --tag {tag} --file {setup.cache}/build-context-")
    assert f"--build-arg BASE_IMAGE={versions()['DEBIAN_BASE_IMAGE']}" in build
    assert "--build-arg TOOLS_FROM=download" in build
    assert all(f" {tag}" in command for command, _ in steps[2:] if "docker run --rm" in command)


def test_existing_cluster_and_registry_are_reused(setup, python_base_image, registry_image):
    s = setup
    env = {**s.env, **versions_with_registry(s, registry_image), "SHOPBOX_IMAGE": python_base_image}
    call("ensure_registry", env)
    docker("network", "create", s.network)
    docker("network", "connect", s.network, s.registry)
    start_node(s, python_base_image)
    commands = [command for command, _ in plan(env)]
    assert not [c for c in commands if "kind create" in c or "--restart=always" in c or "network connect" in c]
    assert commands[0] == f"docker exec {s.node} mkdir -p /etc/containerd/certs.d/localhost:{s.registry_port}"
    assert "kubectl apply -f -" in commands[3] and commands[4].startswith("docker run --rm -i --hostname shopbox")


def test_stopped_containers_are_started(setup, python_base_image, registry_image):
    s = setup
    env = {**s.env, **versions_with_registry(s, registry_image), "SHOPBOX_IMAGE": python_base_image}
    call("ensure_registry", env)
    docker("stop", "-t", "0", s.registry)
    start_node(s, python_base_image, running=False)
    commands = [command for command, _ in plan(env)]
    assert commands[:2] == [f"docker start {s.registry}", f"docker start {s.node}"]


@pytest.mark.parametrize("which", ["registry", "api"])
def test_a_taken_port_stops_before_anything_is_created(setup, python_base_image, which):
    port = setup.registry_port if which == "registry" else setup.api_port
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        result = run_script(env={**setup.env, "SHOPBOX_IMAGE": python_base_image, "SHOPBOX_DRY_RUN": "1"})
    assert result.returncode == 1
    assert f"shopbox: error: port {port}" in result.stderr and "taken by another program" in result.stderr
    created = "--restart=always" if which == "registry" else "kind create"
    assert created not in result.stdout


def test_no_cluster_uses_the_users_kubeconfig(setup, python_base_image, tmp_path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    env = {**setup.env, "SHOPBOX_IMAGE": python_base_image, "KUBECONFIG": f"{kubeconfig}:/elsewhere"}
    commands = [command for command, _ in plan(env, "--no-cluster")]
    assert len(commands) == 1  # no registry, no cluster
    assert "--network host" in commands[0]  # Linux engine: an API server on the host's 127.0.0.1 stays reachable
    assert f"-v {kubeconfig}:/run/shopbox/kubeconfig:ro" in commands[0]
    missing = run_script("--no-cluster", env={**env, "KUBECONFIG": str(tmp_path / "none"), "SHOPBOX_DRY_RUN": "1"})
    assert missing.returncode == 1 and f"--no-cluster: no kubeconfig at {tmp_path}/none" in missing.stderr


def test_registry_is_created_for_real_and_down_removes_everything(setup, python_base_image, registry_image):
    s = setup
    env = {**s.env, **versions_with_registry(s, registry_image)}
    call("ensure_registry", env)
    assert docker("inspect", "--format", "{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}", s.registry) \
        == "running always"
    url = f"http://127.0.0.1:{s.registry_port}/v2/"
    wait_for(lambda: requests.get(url, timeout=1).status_code == 200, timeout=20, what="registry container")
    call("ensure_registry", env)  # running: reused, not created twice
    assert len(docker("ps", "-aq", "--filter", f"name=^{s.registry}$").split()) == 1
    start_node(s, python_base_image)

    assert [c for c, _ in plan(env, "down")] == [
        f"docker rm -f -v {s.node}", f"docker rm -f -v {s.registry}",
        f"rm -f {s.cache}/kubeconfig-{s.cluster}-internal"]
    result = run_script("down", env=env)
    assert result.returncode == 0, result.stderr
    assert docker("ps", "-aq", "--filter", f"name={s.cluster}") == ""
    again = run_script("down", env=env)
    assert again.returncode == 0
    assert f"no cluster {s.cluster}" in again.stderr and f"no registry {s.registry}" in again.stderr


def test_load_puts_the_workshop_images_into_the_registry_and_the_node(setup, python_base_image, registry_image,
                                                                      tmp_path):
    s = setup
    extra = "envoyproxy/envoy:v1.40.0@sha256:" + "1" * 64
    versions_env = versions_with_registry(s, registry_image)
    path = versions_env["SHOPBOX_VERSIONS_FILE"]
    with open(path, "a") as f:
        f.write(f"ENVOY_TEST_IMAGE={extra}\n")
    bundle = tmp_path / "bundle.tar"
    bundle.write_bytes(b"")
    env = {**s.env, **versions_env, "SHOPBOX_IMAGE": python_base_image}
    commands = [c for c, _ in plan(env, "load", str(bundle))]
    assert commands[0] == f"docker load -i {bundle}"
    tail = commands[-3:]
    assert tail == [
        f"docker run --rm {SOCKET_MOUNT} -e KIND_EXPERIMENTAL_DOCKER_NETWORK={s.network} {python_base_image} "
        f"kind load docker-image --name {s.cluster} envoyproxy/envoy:v1.40.0",
        f"docker tag envoyproxy/envoy:v1.40.0 localhost:{s.registry_port}/envoyproxy/envoy:v1.40.0",
        f"docker push localhost:{s.registry_port}/envoyproxy/envoy:v1.40.0",
    ]
    assert not [c for c in commands if re.search(r"kind load docker-image .*(kindest/node|registry)", c)]


def test_prefetch_saves_every_pinned_image_with_its_tag(setup, python_base_image, tmp_path):
    env = {**setup.env, "SHOPBOX_IMAGE": python_base_image}
    commands = [c for c, _ in plan(env, "prefetch", str(tmp_path / "b.tar"))]
    pinned = [v for k, v in versions().items() if k.endswith("_IMAGE")]
    tags = [call(f"tag_of {image}").strip() for image in pinned]
    pulls = [c.split()[-1] for c in commands if c.startswith("docker pull ")]
    assert pulls == list(dict.fromkeys(pinned))
    assert commands[-1] == f"docker save -o {tmp_path}/b.tar {' '.join(dict.fromkeys(tags))} {python_base_image}"
