"""The services' images for linux/arm64 (qotm, auth, usersvc, eds), built from their own Dockerfiles on the arm64
offline Python base and started under qemu: each answers its health endpoint, QOTM serves a quote, usersvc stores a
user in a real PostgreSQL with a quote from the arm64 QOTM, eds lists the EndpointSlices of a stand-in API server
and answers a discovery request with the endpoints the same translation gives on the host."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.arm64.images import ARCH, runs_arm64, service_images
from tests.forge.fake_api import FakeApi, write_kubeconfig
from tests.mesh import apps
from tests.mesh.postgres import Postgres, postgres_server
from tests.platform.fixtures import require, require_command
from tests.platform.procs import free_port, wait_for

pytestmark = pytest.mark.docker

RECORDED = Path(__file__).parents[1] / "mesh" / "recorded" / "endpointslices.json"
HEALTHY_WITHIN = 120  # seconds: gunicorn and the Kubernetes client start several times slower under qemu


@pytest.fixture(scope="module")
def images(docker_client) -> dict[str, str]:
    require_command("debootstrap")
    require(runs_arm64(), "qemu's aarch64 interpreter registered with binfmt_misc (tests/platform/start.sh)")
    return service_images(docker_client)


@pytest.fixture
def start(docker_client, report) -> Iterator[Callable[..., tuple[object, str]]]:
    """start(image, port, **options) -> (container, base URL): on the host's network, bound to 127.0.0.1:port
    (the settings differ per service), read-only root with a /tmp tmpfs; waits for /health; removed at the end."""
    started = []

    def run(image: str, port: int, **options: object) -> tuple[object, str]:
        container = docker_client.containers.run(image, detach=True, network_mode="host", read_only=True,
                                                 tmpfs={"/tmp": ""}, **options)
        started.append(container)
        url = f"http://127.0.0.1:{port}"
        began = time.monotonic()
        try:
            wait_for(lambda: requests.get(f"{url}/health", timeout=2).status_code == 200, HEALTHY_WITHIN,
                     f"{image} /health")
        except TimeoutError:
            raise AssertionError(f"{image} never got healthy:\n{container.logs().decode()[-2000:]}") from None
        report(f"{image.split(':')[0]}: healthy {time.monotonic() - began:.0f} s after start, under qemu")
        return container, url

    yield run
    for container in started:
        container.remove(force=True)


@pytest.fixture(scope="module")
def pg() -> Iterator[Postgres]:
    with postgres_server() as server:
        yield server


def test_every_image_is_arm64(images, docker_client):
    for ref in images.values():
        attrs = docker_client.api.inspect_image(ref)
        assert (attrs["Os"], attrs["Architecture"], attrs["Config"]["User"]) == ("linux", ARCH, "10001:10001"), ref


def test_qotm_and_usersvc_serve_under_emulation(images, start, pg):
    qotm_port, users_port = free_port(), free_port()
    qotm, qotm_url = start(images["qotm"], qotm_port, environment={"PORT": str(qotm_port), "QOTM_VERSION": "arm64"})
    assert qotm.exec_run(["uname", "-m"]).output.decode().strip() == "aarch64"
    assert requests.get(f"{qotm_url}/health", timeout=5).json() == {"status": "ok", "version": "arm64"}
    quote = requests.get(f"{qotm_url}/", timeout=5).json()
    assert quote["quote"] and quote["version"] == "arm64"
    _, users_url = start(images["usersvc"], users_port, environment={
        **pg.env, "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{users_port}", "QOTM_URL": f"{qotm_url}/"})
    created = requests.post(f"{users_url}/", json={"username": "ada", "fullname": "Ada", "email": "ada@example.com"},
                            timeout=30)
    assert created.status_code == 201 and created.json()["quote"], created.text
    assert pg.psql("SELECT username FROM users WHERE username = 'ada'") == "ada"


def test_auth_answers_its_health_and_checks(images, start):
    port = free_port()
    _, url = start(images["auth"], port, environment={"PORT": str(port), "AUTH_MODE": "allow"})
    assert requests.get(f"{url}/check/qotm/", timeout=5).status_code == 200


def test_eds_serves_the_endpoints_of_a_listed_service(images, start, tmp_path):
    slices = json.loads(RECORDED.read_text())["items"]
    namespace = slices[0]["metadata"]["namespace"]
    listing = {"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1",
               "metadata": {"resourceVersion": "100"}, "items": slices}
    port = free_port()
    with FakeApi() as api:
        path = f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"
        api.routes[path] = lambda query: (200, api.hold([])) if query.get("watch") else (200, listing)
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, {"fake": namespace}, "fake")
        kubeconfig.chmod(0o644)  # the image's user (10001) reads it
        _, url = start(images["eds"], port, environment={
            "PORT": str(port), "HOST": "127.0.0.1", "EDS_NAMESPACE": namespace, "KUBECONFIG": "/run/kubeconfig"},
            volumes={str(kubeconfig): {"bind": "/run/kubeconfig", "mode": "ro"}})
        answer = requests.post(f"{url}/v3/discovery:endpoints", json={"resource_names": ["qotm"]}, timeout=30)
        assert answer.status_code == 200, answer.text
        translate = apps.eds_module("eds_translate")
        assert answer.json()["resources"] == [translate.load_assignment("qotm", slices)]
        assert any(p == path and not q.get("watch") for p, q in api.requests)
