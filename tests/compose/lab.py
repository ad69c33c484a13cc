"""What the Compose lab (compose-lab/) runs with in the docker tier: the environment its compose.yaml reads, with
offline-built images (QOTM on the offline base, the Envoy stand-in with the official tag), a network and a project
of its own and a free port for the front proxy. Used by the lab's test and by the replay of its exercise page."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.kind.standins import envoy_image
from tests.platform.fixtures import require
from tests.platform.procs import free_port
from tests.services.apps import QOTM_DIR
from tests.services.rendered import REPO

LAB = REPO / "compose-lab"
COMPOSE_FILE = LAB / "compose.yaml"


def plugin() -> Path:
    """The Docker Compose v2 CLI plugin the host's `docker` runs (build_cli_plugin.sh --install compose)."""
    found = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    require(found.returncode == 0, "the Docker Compose v2 plugin is not installed "
            "(bash tests/platform/build_cli_plugin.sh --install compose)")
    return (Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "cli-plugins" / "docker-compose").resolve()


@contextmanager
def lab_environment(docker_client, python_base_image: str) -> Iterator[dict[str, str]]:
    """compose.yaml's variables (QOTM_IMAGE, ENVOY_IMAGE, COMPOSE_LAB_NETWORK, COMPOSE_LAB_PORT) and
    COMPOSE_PROJECT_NAME; at the end the project is taken down and the network and the QOTM image removed."""
    plugin()
    suffix = uuid.uuid4().hex[:8]
    qotm = f"shopbox-test/qotm-compose:{suffix}"
    docker_client.images.build(path=str(QOTM_DIR), tag=qotm, buildargs={"BASE_IMAGE": python_base_image}, rm=True,
                               forcerm=True)
    network = docker_client.networks.create(f"shopbox-compose-{suffix}")
    env = {"QOTM_IMAGE": qotm, "ENVOY_IMAGE": envoy_image(), "COMPOSE_LAB_NETWORK": network.name,
           "COMPOSE_LAB_PORT": str(free_port()), "COMPOSE_PROJECT_NAME": f"shopbox-compose-{suffix}"}
    try:
        yield env
    finally:
        subprocess.run(["docker", "compose", "-f", str(COMPOSE_FILE), "down", "-t", "1"], env={**os.environ, **env},
                       capture_output=True, timeout=180)
        network.remove()
        docker_client.images.remove(qotm, force=True)
