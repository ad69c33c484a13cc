"""What `./shopbox.sh` does, decided from the real Docker engine's state: with SHOPBOX_DRY_RUN=1 it prints the
shopbox-setup container it would start, and that container (the real shopbox image, on the real engine) prints its
own plan, each command as `+ cmd` (the kind cluster cannot be created here: no node image can be pulled). The
registry, `up` against an existing node, `down` and `prefetch` (pins served by a local registry) run for real."""

from __future__ import annotations

import os
import re
import socket
import subprocess

import pytest
import requests
import yaml

from shopbox_setup.generated import hosts_toml, kind_config, registry_configmap
from tests.platform.procs import wait_for
from tests.shopbox.conftest import Setup, docker, start_node, start_registry, versions_with_registry
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


def setup_container(s: Setup, image: str, verb: str, versions_file: str = str(ROOT / "versions.env")) -> str:
    """The host's one command for the set-up: shopbox-setup VERB in a throwaway shopbox container."""
    return (f"docker run --rm {SOCKET_MOUNT} -v {versions_file}:/run/shopbox/versions.env:ro "
            f"-e SHOPBOX_VERSIONS_FILE=/run/shopbox/versions.env -e SHOPBOX_CLUSTER={s.cluster} "
            f"-e SHOPBOX_REGISTRY_NAME={s.registry} -e SHOPBOX_KIND_NETWORK={s.network} "
            f"-e SHOPBOX_REGISTRY_PORT={s.registry_port} -e SHOPBOX_API_PORT={s.api_port} "
            f"-e SHOPBOX_EDGE_PORT={s.edge_port} -e SHOPBOX_PROMETHEUS_PORT={s.prometheus_port} {image} "
            f"shopbox-setup {verb}")


def shell(s: Setup, image: str) -> str:
    return (f"docker run --rm -i --hostname shopbox --network {s.network} --sysctl net.ipv6.conf.lo.disable_ipv6=0 "
            f"-v {ROOT}:{ROOT} -w {ROOT} {SOCKET_MOUNT} "
            f"-v {s.cache}/kubeconfig-{s.cluster}-internal:/run/shopbox/kubeconfig:ro -e SHOPBOX_UID={os.getuid()} "
            f"-e SHOPBOX_REGISTRY=localhost:{s.registry_port} -e SHOPBOX_EDGE_PORT={s.edge_port} "
            f"-e SHOPBOX_PROMETHEUS_PORT={s.prometheus_port} "
            f"-e SHOPBOX_REGISTRY_FORWARD={s.registry_port}:{s.registry}:5000 {image}")


def test_fresh_machine(setup, shopbox_image, docker_client):
    s = setup
    steps = plan({**s.env, "SHOPBOX_IMAGE": shopbox_image})
    kind = f"env KIND_EXPERIMENTAL_DOCKER_NETWORK={s.network} kind"
    kubeconfig = f"{s.cache}/kubeconfig-{s.cluster}-internal"
    certs = f"/etc/containerd/certs.d/localhost:{s.registry_port}"
    assert [command for command, _ in steps] == [
        f"{setup_container(s, shopbox_image, 'up')} > {kubeconfig}",
        f"docker run -d --restart=always --name {s.registry} -p 127.0.0.1:{s.registry_port}:5000 --network bridge "
        f"{versions()['REGISTRY_IMAGE']}",
        f"{kind} create cluster --name {s.cluster} --config=- --wait 2m",
        f"docker exec {s.node} mkdir -p {certs}",
        f"docker exec -i {s.node} cp /dev/stdin {certs}/hosts.toml",
        f"docker network connect {s.network} {s.registry}",
        f"docker exec -i {s.node} kubectl --kubeconfig=/etc/kubernetes/admin.conf apply -f -",
        f"{kind} get kubeconfig --internal --name {s.cluster}",
        shell(s, shopbox_image),
    ]
    settings = s.settings(versions()["REGISTRY_IMAGE"])
    cgroup_v1 = docker_client.info().get("CgroupVersion") == "1"
    assert steps[2][1] == kind_config(settings, versions()["KIND_NODE_IMAGE"], cgroup_v1)
    assert steps[4][1] == hosts_toml(settings)
    assert steps[6][1] == registry_configmap(settings)


def test_the_image_is_built_when_missing(setup):
    """No image yet: the plan builds it, and cannot show the set-up's own plan (it runs in that image)."""
    commands = [command for command, _ in plan(setup.env)]
    tag = call("ARCH=amd64; image_ref", setup.env).strip()
    buildkit = int(subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode == 0)
    assert commands[0].startswith(f"env DOCKER_BUILDKIT={buildkit} docker build --platform linux/amd64 --tag {tag} "
                                  f"--file {setup.cache}/build-context-")
    assert f"--build-arg BASE_IMAGE={versions()['DEBIAN_BASE_IMAGE']}" in commands[0]
    assert "--build-arg TOOLS_FROM=download" in commands[0]
    assert commands[1:] == [f"{setup_container(setup, tag, 'up')} > {setup.cache}/kubeconfig-{setup.cluster}-internal",
                            shell(setup, tag)]


def test_existing_cluster_and_registry_are_reused(setup, shopbox_image, python_base_image, registry_image):
    s = setup
    env = {**s.env, **versions_with_registry(s, registry_image), "SHOPBOX_IMAGE": shopbox_image}
    start_registry(s, registry_image)
    docker("network", "create", s.network)
    docker("network", "connect", s.network, s.registry)
    start_node(s, python_base_image)
    commands = [command for command, _ in plan(env)]
    assert not [c for c in commands if "kind create" in c or "--restart=always" in c or "network connect" in c]
    assert commands[1] == f"docker exec {s.node} mkdir -p /etc/containerd/certs.d/localhost:{s.registry_port}"
    assert "kubectl --kubeconfig=/etc/kubernetes/admin.conf apply -f -" in commands[3]
    assert commands[5].startswith("docker run --rm -i --hostname shopbox")


def test_stopped_containers_are_started(setup, shopbox_image, python_base_image, registry_image):
    s = setup
    env = {**s.env, **versions_with_registry(s, registry_image), "SHOPBOX_IMAGE": shopbox_image}
    start_registry(s, registry_image)
    docker("stop", "-t", "0", s.registry)
    start_node(s, python_base_image, running=False)
    commands = [command for command, _ in plan(env)]
    assert commands[1:3] == [f"docker start {s.registry}", f"docker start {s.node}"]


@pytest.mark.parametrize("which", ["registry", "api"])
def test_a_taken_port_stops_before_anything_is_created(setup, python_base_image, which):
    port = setup.registry_port if which == "registry" else setup.api_port
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        result = run_script(env={**setup.env, "SHOPBOX_IMAGE": python_base_image, "SHOPBOX_DRY_RUN": "1"})
    assert result.returncode == 1
    assert f"shopbox: error: port {port}" in result.stderr and "taken by another program" in result.stderr
    assert "shopbox-setup" not in result.stdout


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


ADMIN_CONF = """apiVersion: v1
kind: Config
clusters: [{name: kubernetes, cluster: {server: 'https://NODE:6443', certificate-authority-data: Y2E=}}]
users: [{name: kubernetes-admin, user: {client-certificate-data: Y2VydA==, client-key-data: a2V5}}]
contexts: [{name: kubernetes-admin@kubernetes, context: {cluster: kubernetes, user: kubernetes-admin}}]
current-context: kubernetes-admin@kubernetes
"""
# What a kind node has that the set-up uses: kind's labels, kubeadm's admin.conf, a kubectl (here one that keeps
# what it is asked to apply).
FAKE_NODE = ("mkdir -p /etc/kubernetes && cat >/etc/kubernetes/admin.conf && "
             "printf '#!/bin/sh\\necho \"$@\" >/tmp/kubectl-args; cat >/tmp/applied\\n' >/usr/local/bin/kubectl && "
             "chmod +x /usr/local/bin/kubectl")


def test_up_for_real_on_an_existing_node(setup, shopbox_image, python_base_image, registry_image):
    """`./shopbox.sh run -- CMD` for real, with a node that stands in for kind's: the registry is created, the
    node gets its hosts.toml, the registry joins the network, the ConfigMap is applied on the node, kind reads
    the node's kubeconfig, and the shell gets it."""
    s = setup
    env = {**s.env, **versions_with_registry(s, registry_image), "SHOPBOX_IMAGE": shopbox_image}
    docker("network", "create", s.network)
    docker("run", "-d", "--name", s.node, "--network", s.network, "--label", f"io.x-k8s.kind.cluster={s.cluster}",
           "--label", "io.x-k8s.kind.role=control-plane", python_base_image, "sleep", "600")
    subprocess.run(["docker", "exec", "-i", s.node, "sh", "-c", FAKE_NODE], input=ADMIN_CONF.replace("NODE", s.node),
                   text=True, check=True, timeout=60)
    result = run_script("run", "--", "cat", "/home/shopbox/.kube/config", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    kubeconfig = yaml.safe_load(result.stdout)  # stdout is the command's: the set-up wrote to stderr
    assert kubeconfig["current-context"] == f"kind-{s.cluster}"
    assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://{s.node}:6443"
    assert (s.cache / f"kubeconfig-{s.cluster}-internal").stat().st_mode & 0o777 == 0o600
    settings = s.settings(registry_image)
    certs = f"/etc/containerd/certs.d/localhost:{s.registry_port}"
    assert docker("exec", s.node, "cat", f"{certs}/hosts.toml") + "\n" == hosts_toml(settings)
    assert docker("exec", s.node, "cat", "/tmp/applied") + "\n" == registry_configmap(settings)
    assert docker("exec", s.node, "cat", "/tmp/kubectl-args") == "--kubeconfig=/etc/kubernetes/admin.conf apply -f -"
    members = docker("network", "inspect", s.network, "--format", "{{range .Containers}}{{.Name}} {{end}}").split()
    assert sorted(members) == sorted([s.node, s.registry])
    again = run_script("run", "--", "true", env=env, timeout=300)  # everything reused
    assert again.returncode == 0 and f"cluster {s.cluster} exists" in again.stderr
    assert f"registry {s.registry} is running on localhost:{s.registry_port}" in again.stderr


def test_registry_is_created_for_real_and_down_removes_everything(setup, shopbox_image, python_base_image,
                                                                  registry_image):
    s = setup
    env = {**s.env, **versions_with_registry(s, registry_image), "SHOPBOX_IMAGE": shopbox_image}
    start_registry(s, registry_image)
    assert docker("inspect", "--format", "{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}", s.registry) \
        == "running always"
    url = f"http://127.0.0.1:{s.registry_port}/v2/"
    wait_for(lambda: requests.get(url, timeout=1).status_code == 200, timeout=20, what="registry container")
    start_registry(s, registry_image)  # running: reused, not created twice
    assert len(docker("ps", "-aq", "--filter", f"name=^{s.registry}$").split()) == 1
    docker("network", "create", s.network)
    start_node(s, python_base_image)
    docker("network", "connect", s.network, s.node)

    versions_file = env["SHOPBOX_VERSIONS_FILE"]
    assert [c for c, _ in plan(env, "down")] == [
        setup_container(s, shopbox_image, "down", versions_file), f"docker rm -f -v {s.node}",
        f"docker rm -f -v {s.registry}", f"docker network rm {s.network}",
        f"rm -f {s.cache}/kubeconfig-{s.cluster}-internal"]
    result = run_script("down", env=env)
    assert result.returncode == 0, result.stderr
    assert docker("ps", "-aq", "--filter", f"name={s.cluster}") == ""
    assert docker("network", "ls", "-q", "--filter", f"name=^{s.network}$") == ""
    again = run_script("down", env=env)
    assert again.returncode == 0
    assert f"no cluster {s.cluster}" in again.stderr and f"no registry {s.registry}" in again.stderr


def test_down_without_this_versions_image_uses_the_newest_one_here(setup, shopbox_image):
    s = setup
    repository = f"{s.cluster}-shell"
    env = {**s.env, "SHOPBOX_IMAGE_REPOSITORY": repository}
    first, *_ = plan(env, "down")  # no image of the repository at all: built first
    assert re.match(rf"env DOCKER_BUILDKIT=[01] docker build --platform linux/amd64 --tag {repository}:[0-9a-f]{{16}} ",
                    first[0])
    docker("tag", shopbox_image, f"{repository}:older")
    try:
        result = run_script("down", env=env)
        assert result.returncode == 0, result.stderr
        assert re.search(rf"image {repository}:[0-9a-f]{{16}} is not built; down uses {repository}:older",
                         result.stderr)
        assert f"no cluster {s.cluster}" in result.stderr and f"no registry {s.registry}" in result.stderr
        assert docker("images", "-q", repository) == docker("images", "-q", shopbox_image)  # nothing was built
    finally:
        docker("rmi", f"{repository}:older")


def test_load_puts_the_workshop_images_into_the_registry_and_the_node(setup, shopbox_image, registry_image,
                                                                      tmp_path):
    s = setup
    extra = "envoyproxy/envoy:v1.40.0@sha256:" + "1" * 64
    versions_env = versions_with_registry(s, registry_image)
    path = versions_env["SHOPBOX_VERSIONS_FILE"]
    with open(path, "a") as f:
        f.write(f"ENVOY_TEST_IMAGE={extra}\n")
    bundle = tmp_path / "bundle.tar"
    bundle.write_bytes(b"")
    env = {**s.env, **versions_env, "SHOPBOX_IMAGE": shopbox_image}
    commands = [c for c, _ in plan(env, "load", str(bundle))]
    assert commands[:2] == [f"docker load -i {bundle}", f"{setup_container(s, shopbox_image, 'load', path)} > "
                                                         f"{s.cache}/kubeconfig-{s.cluster}-internal"]
    assert commands[-3:] == [
        f"env KIND_EXPERIMENTAL_DOCKER_NETWORK={s.network} kind load docker-image --name {s.cluster} "
        "envoyproxy/envoy:v1.40.0",
        f"docker tag envoyproxy/envoy:v1.40.0 localhost:{s.registry_port}/envoyproxy/envoy:v1.40.0",
        f"docker push localhost:{s.registry_port}/envoyproxy/envoy:v1.40.0",
    ]
    assert not [c for c in commands if re.search(r"kind load docker-image .*(kindest/node|registry)", c)]


def test_prefetch_saves_every_pinned_image_with_its_tag(setup, shopbox_image, tmp_path):
    env = {**setup.env, "SHOPBOX_IMAGE": shopbox_image}
    commands = [c for c, _ in plan(env, "prefetch", str(tmp_path / "b.tar"))]
    listed = f"{setup.cache}/prefetch-images"
    assert commands[0] == f"{setup_container(setup, shopbox_image, f'prefetch {shopbox_image}')} > {listed}"
    pinned = [v for k, v in versions().items() if k.endswith("_IMAGE")]
    pulls = [c.split()[-1] for c in commands if c.startswith("docker pull ")]
    assert pulls == list(dict.fromkeys(pinned))
    assert commands[-1] == f"docker save -o {tmp_path}/b.tar $(cat {listed})"


def test_prefetch_for_real_saves_the_bundle_the_setup_container_lists(setup, shopbox_image, python_base_image,
                                                                        registry, tmp_path):
    """Every *_IMAGE pin served by a local registry (nothing else can be pulled here): `./shopbox.sh prefetch`
    pulls them in the set-up container, tags them and lists them, and the bundle saved on the host holds those tags
    and the image."""
    pins = {}
    for key in (k for k in versions() if k.endswith("_IMAGE")):
        name = f"{registry.host}/prefetch/{key.lower().replace('_', '-')}:1"
        docker("tag", python_base_image, name)
        docker("push", name)
        repository = name.rsplit(":", 1)[0]  # the image's RepoDigests also name earlier runs' registries
        digests = docker("image", "inspect", "--format", "{{range .RepoDigests}}{{.}} {{end}}", name).split()
        (digest,) = [d for d in digests if d.startswith(f"{repository}@")]
        pins[key] = digest.replace("@", ":1@")
        docker("rmi", name)  # pulled again by prefetch
    path = tmp_path / "versions.env"
    path.write_text("".join(f"{k}={pins.get(k, v)}\n" for k, v in versions().items()))
    bundle = tmp_path / "bundle.tar"
    try:
        result = run_script("prefetch", str(bundle), timeout=600,
                            env={**setup.env, "SHOPBOX_IMAGE": shopbox_image, "SHOPBOX_VERSIONS_FILE": str(path)})
    finally:
        refs = docker("images", "--digests", "--format", "{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}",
                      f"{registry.host}/prefetch/*").split()
        docker("rmi", *[ref for ref in refs if not ref.endswith(("<none>", "@"))], check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = subprocess.run(["tar", "-xOf", str(bundle), "manifest.json"], capture_output=True, check=True).stdout
    tags = {tag for image in yaml.safe_load(manifest) for tag in image["RepoTags"] or ()}
    assert tags == {ref.split("@")[0] for ref in pins.values()} | {shopbox_image}
