"""Fixtures for the shopbox.sh tests that use the real Docker engine.

Each test gets its own cluster, registry and network names and free ports, so it never meets the real `shopbox`
cluster or another test's containers; whatever it creates under those names is removed afterwards.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shopbox_setup import cluster
from shopbox_setup.runner import Commands
from shopbox_setup.settings import Settings
from tests.kind import node_image
from tests.platform.fixtures import require, require_command
from tests.platform.procs import free_ports


@dataclass
class Setup:
    """The names and ports one test's shopbox.sh runs with (as environment variables)."""

    cluster: str
    registry: str
    network: str
    registry_port: int
    api_port: int
    cache: Path
    edge_port: int = 0
    prometheus_port: int = 0

    @property
    def node(self) -> str:
        return f"{self.cluster}-control-plane"

    def settings(self, registry_image: str) -> Settings:
        """shopbox-setup's settings for these names, with `registry_image` as REGISTRY_IMAGE."""
        from tests.shopbox.offline_image import versions

        return Settings(cluster=self.cluster, registry=self.registry, network=self.network,
                        registry_port=self.registry_port, api_port=self.api_port, edge_port=self.edge_port,
                        prometheus_port=self.prometheus_port,
                        versions={**versions(), "REGISTRY_IMAGE": registry_image})

    @property
    def env(self) -> dict[str, str]:
        return {
            "SHOPBOX_CLUSTER": self.cluster, "SHOPBOX_REGISTRY_NAME": self.registry,
            "SHOPBOX_KIND_NETWORK": self.network, "SHOPBOX_REGISTRY_PORT": str(self.registry_port),
            "SHOPBOX_API_PORT": str(self.api_port), "SHOPBOX_CACHE": str(self.cache),
            "SHOPBOX_EDGE_PORT": str(self.edge_port), "SHOPBOX_PROMETHEUS_PORT": str(self.prometheus_port),
        }


def docker(*args: str, check: bool = True) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {result.stderr}")
    return result.stdout.strip()


@pytest.fixture
def setup(docker_client, tmp_path) -> Iterator[Setup]:
    name = f"sbt-{uuid.uuid4().hex[:8]}"
    registry_port, api_port, edge_port, prometheus_port = free_ports(4)
    s = Setup(cluster=name, registry=f"{name}-registry", network=f"{name}-kind", registry_port=registry_port,
              api_port=api_port, cache=tmp_path / "cache", edge_port=edge_port, prometheus_port=prometheus_port)
    yield s
    ids = docker("ps", "-aq", "--filter", f"name={name}", check=False).split()
    if ids:
        docker("rm", "-f", "-v", *ids, check=False)
    docker("network", "rm", s.network, check=False)


@pytest.fixture(scope="session")
def registry_image(docker_client) -> str:
    """A distribution registry image like registry:2, built from the Debian package's binary because no image can
    be pulled here (the one the workshop tier hands to ./shopbox.sh, tests/kind/node_image.py)."""
    require_command("docker-registry")
    return node_image.registry_image()


@pytest.fixture(scope="session")
def shopbox_image(docker_client) -> str:
    """The shopbox image, built offline by `shopbox.sh build` (tests/shopbox/offline_image.py)."""
    from tests.shopbox import offline_image

    require_command("debootstrap")
    require_command("go")
    require(offline_image.LOCAL_KUBECTL.exists() and offline_image.LOCAL_DOCKER.exists(),
            "local kubectl and docker binaries (the offline build's tool sources)")
    return offline_image.build()


def start_registry(setup: Setup, registry_image: str) -> None:
    """The registry container, created for real by shopbox-setup's code on this host's Docker CLI."""
    cluster.ensure_registry(Commands(), setup.settings(registry_image))


def start_node(setup: Setup, image: str, running: bool = True) -> None:
    """A container carrying kind's node label for the test cluster (not a Kubernetes node: no node image here)."""
    docker("run", "-d", "--name", setup.node, "--label", f"io.x-k8s.kind.cluster={setup.cluster}", image,
           "sleep", "600")
    if not running:
        docker("stop", "-t", "0", setup.node)


def versions_with_registry(setup: Setup, image: str) -> dict[str, str]:
    """A copy of versions.env whose REGISTRY_IMAGE is the local registry image; returns the env to use it."""
    from tests.shopbox.offline_image import ROOT

    text = (ROOT / "versions.env").read_text()
    lines = [f"REGISTRY_IMAGE={image}" if line.startswith("REGISTRY_IMAGE=") else line for line in text.splitlines()]
    path = setup.cache.parent / "versions.env"
    path.write_text("\n".join(lines) + "\n")
    return {"SHOPBOX_VERSIONS_FILE": str(path)}
