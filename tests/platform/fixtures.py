"""Session fixtures for the real parts the tiers need: Docker engine, a registry, base images, free ports."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.platform import base_images
from tests.platform.procs import free_port, running

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, message: str) -> None:
    """A missing prerequisite fails the test under CI=true (never a silent skip); locally it skips."""
    if condition:
        return
    if CI:
        pytest.fail(f"prerequisite missing: {message}", pytrace=False)
    pytest.skip(message)


def require_command(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"`{name}` is not on PATH (run tests/platform/install.sh)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def docker_client():
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # any failure means the engine is not usable
        require(False, f"Docker engine not reachable ({exc}); run tests/platform/start.sh")
    yield client
    client.close()


@dataclass
class Registry:
    """A real distribution registry on 127.0.0.1."""

    host: str  # "127.0.0.1:PORT", usable as an image prefix

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def catalog(self) -> list[str]:
        return requests.get(f"{self.url}/v2/_catalog", timeout=5).json().get("repositories") or []

    def tags(self, repository: str) -> list[str]:
        resp = requests.get(f"{self.url}/v2/{repository}/tags/list", timeout=5)
        return (resp.json().get("tags") or []) if resp.status_code == 200 else []


def _registry_ready(url: str) -> bool:
    return requests.get(f"{url}/v2/", timeout=1).status_code == 200


@pytest.fixture(scope="session")
def registry(tmp_path_factory, docker_client) -> Iterator[Registry]:
    binary = require_command("docker-registry")
    work = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = work / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {work / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    reg = Registry(host=f"127.0.0.1:{port}")
    with running([binary, "serve", str(config)], work / "registry.log",
                 ready=lambda: _registry_ready(reg.url), what="docker-registry"):
        yield reg


@pytest.fixture(scope="session")
def python_base_image(docker_client) -> str:
    """Reference of the offline stand-in for python:3.12-alpine, with the services' requirements installed."""
    require_command("debootstrap")
    return base_images.ensure(base_images.PYTHON_SERVICES)


@pytest.fixture
def port_factory():
    """Call it to get a free 127.0.0.1 port."""
    return free_port


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return base_images.ROOT
