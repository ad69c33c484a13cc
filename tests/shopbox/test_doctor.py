"""`shopbox.sh doctor` against the real Docker engine: what is there is OK, what is missing or broken is reported
as such with its fix, and the exit code says whether anything failed. The in-cluster checks (kind network,
registry, API server) run as shopbox-setup in the real shopbox image (SHOPBOX_IMAGE)."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
import requests

from tests.platform.procs import wait_for
from tests.shopbox.conftest import docker, start_node, start_registry, versions_with_registry
from tests.shopbox.script import Check, doctor

pytestmark = pytest.mark.docker

def test_fresh_engine(setup, docker_client, shopbox_image):
    code, checks, summary = doctor({**setup.env, "SHOPBOX_IMAGE": shopbox_image})
    engine = docker_client.version()
    assert checks["docker-engine"].status == "OK"
    assert f"engine {engine['Version']} (API {engine['ApiVersion']})" in checks["docker-engine"].detail
    assert checks["docker-socket"].status == "OK"  # the tests run as a user allowed to use the socket
    arch = {"x86_64": "amd64", "aarch64": "arm64"}[docker_client.info()["Architecture"]]
    assert checks["architecture"] == Check(
        "OK", f"{arch}: the shell image, the kind node and forge's images are linux/{arch}")
    assert checks["platform"] == Check("OK", "Docker Engine on Linux: what shopbox's CI runs (engine 20.10 on amd64; "
                                             "the arm64 images under emulation, not on an arm64 machine)")
    assert checks[f"port {setup.registry_port}"] == Check("OK", "free (registry)")
    assert checks[f"port {setup.api_port}"] == Check("OK", "free (Kubernetes API server)")
    assert checks["kind-network"] == Check("MISS", f"no Docker network {setup.network}",
                                           "./shopbox.sh creates it (with the cluster)")
    assert checks["registry"] == Check("MISS", f"no container {setup.registry}", "./shopbox.sh creates it")
    assert checks["api-server"] == Check("MISS", f"no kind cluster {setup.cluster}", "./shopbox.sh creates it")
    assert checks[f"port {setup.edge_port}"] == Check("OK", "free (edge (Envoy NodePort 30080))")
    assert checks[f"port {setup.prometheus_port}"] == Check("OK", "free (Prometheus (NodePort 30090))")
    # the pinned registry image cannot be pulled here, so the privileged probe cannot run: said, not failed
    assert checks["privileged"].status == "SKIP" and "cannot be pulled" in checks["privileged"].detail
    failed = [name for name, check in checks.items() if check.status == "FAIL"]
    assert failed == [] and code == 0
    assert summary.startswith("doctor: 0 failed, 3 missing")


def test_cgroup_version_and_privileged_containers_are_checked_on_the_engine(setup, docker_client, registry_image):
    """cgroup v1 engines get a WARN that says what shopbox does about it; a privileged container is tried for real
    (this engine can: tests/platform/start.sh gives it the capability filter these VMs need)."""
    _, checks, _ = doctor({**setup.env, **versions_with_registry(setup, registry_image)})
    if docker_client.info().get("CgroupVersion") == "1":
        assert checks["cgroups"].status == "WARN"
        assert "failCgroupV1: false" in checks["cgroups"].detail
        assert "cgroup v2" in checks["cgroups"].fix
    else:
        assert checks["cgroups"] == Check("OK", "v2")
    assert checks["privileged"] == Check("OK", "the engine starts privileged containers (kind's nodes are privileged)")


def test_inotify_and_disk_are_read_from_this_machine(setup, docker_client):
    _, checks, _ = doctor(setup.env)
    watches = int(Path("/proc/sys/fs/inotify/max_user_watches").read_text())
    instances = int(Path("/proc/sys/fs/inotify/max_user_instances").read_text())
    inotify = checks["inotify"]
    assert f"max_user_watches={watches} max_user_instances={instances}" in inotify.detail
    enough = watches >= 524288 and instances >= 512
    assert inotify.status == ("OK" if enough else "WARN")
    assert enough or inotify.fix == "sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512"
    root = docker_client.info()["DockerRootDir"]
    free_gib = int(checks["disk"].detail.split()[0])
    assert abs(free_gib - shutil.disk_usage(root).free // 2**30) <= 1
    assert checks["disk"].detail.endswith(f"free on {root}")


def test_existing_kind_network_is_ok(setup, shopbox_image):
    docker("network", "create", setup.network)
    _, checks, summary = doctor({**setup.env, "SHOPBOX_IMAGE": shopbox_image})
    assert checks["kind-network"] == Check("OK", f"{setup.network} exists")
    assert "2 missing" in summary


@pytest.mark.parametrize(("which", "setting"), [("registry", "REGISTRY"), ("api", "API")])
def test_a_taken_port_fails_with_its_fix(setup, which, setting):
    port = setup.registry_port if which == "registry" else setup.api_port
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        code, checks, summary = doctor(setup.env)
    check = checks[f"port {port}"]
    assert check.status == "FAIL" and "taken by another program" in check.detail
    assert f"SHOPBOX_{setting}_PORT=<port>" in check.fix
    assert code == 1 and summary.startswith("doctor: 1 failed")


def test_docker_not_running(setup, tmp_path):
    dead = tmp_path / "dead.sock"
    code, checks, _ = doctor({**setup.env, "DOCKER_HOST": f"unix://{dead}"})
    assert checks["docker-engine"].status == "FAIL"
    assert checks["docker-engine"].detail == f"Docker is not running (no answer at unix://{dead})"
    assert "systemctl start docker" in checks["docker-engine"].fix
    assert checks["docker-socket"].status == "WARN" and str(dead) in checks["docker-socket"].detail
    for name in ("kind-network", "registry", "api-server"):
        assert checks[name] == Check("SKIP", "needs Docker")
    assert "architecture" not in checks
    assert code == 1


def test_socket_without_permission(setup, tmp_path):
    """A user outside the socket's group: both the socket check and the engine check say so, with the fix."""
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o777)
    setup.cache.mkdir(parents=True)
    setup.cache.chmod(0o777)
    nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
    code, checks, _ = doctor({**setup.env, "HOME": str(home)}, prefix=nobody)
    assert checks["docker-socket"].status == "FAIL"
    assert "/var/run/docker.sock is not accessible" in checks["docker-socket"].detail
    assert checks["docker-socket"].fix.startswith("sudo usermod -aG docker ")
    assert checks["docker-engine"].status == "FAIL" and "not accessible" in checks["docker-engine"].detail
    assert code == 1


def test_running_registry_is_ok_and_a_stopped_one_fails(setup, registry_image, shopbox_image):
    env = {**setup.env, **versions_with_registry(setup, registry_image), "SHOPBOX_IMAGE": shopbox_image}
    start_registry(setup, registry_image)  # the real `docker run` of the registry, from shopbox-setup
    url = f"http://127.0.0.1:{setup.registry_port}/v2/"
    wait_for(lambda: requests.get(url, timeout=1).status_code == 200, timeout=20, what="registry container")
    _, checks, _ = doctor(env)
    assert checks["registry"] == Check("OK", f"{setup.registry} answers at http://localhost:{setup.registry_port}/v2/")
    assert checks[f"port {setup.registry_port}"] == Check("OK", f"used by {setup.registry} (registry)")

    docker("stop", "-t", "0", setup.registry)
    code, checks, _ = doctor(env)
    assert checks["registry"] == Check("FAIL", f"container {setup.registry} is exited",
                                       f"docker start {setup.registry}")
    assert code == 1


def test_cluster_that_does_not_answer_fails(setup, python_base_image, shopbox_image):
    start_node(setup, python_base_image)
    code, checks, _ = doctor({**setup.env, "SHOPBOX_IMAGE": shopbox_image})
    check = checks["api-server"]
    assert check.status == "FAIL"
    assert check.detail == (f"cluster {setup.cluster} (nodes: {setup.node}:running) does not answer on "
                            f"https://127.0.0.1:{setup.api_port}")
    assert check.fix.startswith(f"docker start {setup.node};")
    assert code == 1


def test_without_the_image_the_in_cluster_checks_are_skipped(setup):
    """doctor is a pre-flight check: it builds nothing, and says what the in-cluster checks need."""
    code, checks, _ = doctor({**setup.env, "SHOPBOX_IMAGE": "shopbox-test/no-such-image:0"})
    for name in ("kind-network", "registry", "api-server"):
        assert checks[name].status == "SKIP" and "needs the shopbox image" in checks[name].detail
    assert code == 0
