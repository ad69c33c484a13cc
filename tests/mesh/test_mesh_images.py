"""usersvc's and eds's images (docker tier): built from their Dockerfiles on an offline base with their pinned
requirements (tests/platform/base_images.py), run read-only as the image's non-root user against a real
PostgreSQL and the real QOTM on the host's loopback."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.mesh import apps
from tests.mesh.postgres import Postgres, postgres_server
from tests.platform.procs import free_port, wait_for
from tests.services.test_images import refuses_in_one_line

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def images(docker_client, python_base_image: str) -> Iterator[dict[str, str]]:
    base = python_base_image  # usersvc's and eds's requirements are preinstalled there too
    built: dict[str, str] = {}
    try:
        for name, directory in (("usersvc", apps.USERSVC_DIR), ("eds", apps.EDS_DIR)):
            tag = f"shopbox-test/{name}:{uuid.uuid4().hex[:12]}"
            docker_client.images.build(path=str(directory), tag=tag, buildargs={"BASE_IMAGE": base}, rm=True,
                                       forcerm=True)
            built[name] = tag
        yield built
    finally:
        for tag in built.values():
            docker_client.images.remove(tag, force=True)


@pytest.fixture(scope="module")
def pg() -> Iterator[Postgres]:
    with postgres_server() as server:
        yield server


def test_usersvc_image_serves_users_as_a_non_root_user(images, docker_client, pg: Postgres) -> None:
    port = free_port()
    with apps.qotm_server() as qotm_url:
        container = docker_client.containers.run(
            images["usersvc"], detach=True, network_mode="host", read_only=True, tmpfs={"/tmp": ""},
            environment={**pg.env, "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port}", "QOTM_URL": qotm_url})
        try:
            url = f"http://127.0.0.1:{port}"
            try:
                wait_for(lambda: requests.get(f"{url}/health", timeout=1).status_code == 200, 30, "usersvc /health")
            except TimeoutError:
                raise AssertionError(container.logs().decode()[-2000:]) from None
            assert docker_client.api.inspect_image(images["usersvc"])["Config"]["User"] == "10001:10001"
            created = requests.post(f"{url}/", json={"username": "dora", "fullname": "Dora", "email": "d@example.com"},
                                    timeout=5)
            assert created.status_code == 201 and created.json()["quote"], created.text
            assert pg.psql("SELECT username FROM users WHERE username = 'dora'") == "dora"
            started = time.monotonic()
            container.stop(timeout=15)  # SIGTERM: gunicorn finishes and exits 0
            assert container.wait(timeout=5)["StatusCode"] == 0 and time.monotonic() - started < 12
        finally:
            container.remove(force=True)


def test_eds_image_has_its_client_and_refuses_to_start_without_an_api_in_one_line(images, docker_client) -> None:
    refuses_in_one_line(docker_client, images["eds"],
                        "eds: no Kubernetes API to watch: not in a pod, and no usable kubeconfig", timeout=60,
                        network_mode="none", read_only=True, environment={"EDS_NAMESPACE": "shop"})
