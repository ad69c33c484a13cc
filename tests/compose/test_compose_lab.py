"""The Compose lab (compose-lab/): its pins (unit), Envoy's validation of its configs (dataplane), and the whole
lab on the real Docker engine with the Compose v2 plugin built from its Go module (docker): the front proxy
balances over both replicas through their sidecars, a replica stopped under load costs < 1% of the requests once
the health check has seen it, and `down` leaves no container behind. Numbers measured are printed."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml

from tests.compose.lab import COMPOSE_FILE, LAB, lab_environment
from tests.kind.standins import tag_of
from tests.platform.procs import wait_for
from tests.services.rendered import REPO
from tests.services.stack import Load, binary, failures, versions
from versions_env import read_versions

PLUGIN_MOD = REPO / "tests" / "compose" / "plugin" / "go.mod"


def compose_file() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.mark.unit
def test_the_lab_pins_the_versions_env_images_and_compose_version() -> None:
    pins = read_versions()
    services = compose_file()["services"]
    for name in ("sidecar1", "sidecar2", "front-envoy"):
        assert services[name]["image"] == f"${{ENVOY_IMAGE:-{tag_of(pins['ENVOY_IMAGE'])}}}", name
    assert f"github.com/docker/compose/v2 v{pins['COMPOSE_VERSION']} " in PLUGIN_MOD.read_text()
    # Sidecars share their replica's network namespace; the front proxy is the only published port (loopback).
    assert services["sidecar1"]["network_mode"] == "service:qotm1"
    assert services["sidecar2"]["network_mode"] == "service:qotm2"
    assert [s for s in services if services[s].get("ports")] == ["front-envoy"]
    assert services["front-envoy"]["ports"] == ["127.0.0.1:${COMPOSE_LAB_PORT:-8000}:8080"]


@pytest.mark.dataplane
@pytest.mark.parametrize("config", ["front-envoy.yaml", "sidecar-envoy.yaml"])
def test_envoy_accepts_the_lab_configs_without_deprecation_warnings(config: str) -> None:
    result = subprocess.run([binary("envoy"), "--mode", "validate", "-c", str(LAB / config)], capture_output=True,
                            text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "deprecated" not in output.lower() and "][warning][" not in output, output


@dataclass
class Lab:
    project: str
    env: dict[str, str]
    url: str

    def compose(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["docker", "compose", "-f", str(COMPOSE_FILE), *args], env=self.env,
                                capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"docker compose {' '.join(args)}:\n{result.stdout}{result.stderr}"
        return result

    def containers(self, docker_client) -> list[str]:
        found = docker_client.containers.list(all=True, filters={"label": f"com.docker.compose.project={self.project}"})
        return sorted(c.name for c in found)


@pytest.fixture(scope="module")
def lab(docker_client, python_base_image: str) -> Iterator[Lab]:
    """The lab up in the environment of tests/compose/lab.py (offline-built images, a network of its own)."""
    with lab_environment(docker_client, python_base_image) as env:
        lab = Lab(env["COMPOSE_PROJECT_NAME"], {**os.environ, **env}, f"http://127.0.0.1:{env['COMPOSE_LAB_PORT']}")
        lab.compose("up", "-d")
        yield lab


def replica(body: dict) -> str | None:
    return body.get("version")


@pytest.mark.docker
def test_the_front_proxy_balances_over_both_replicas_and_survives_one_stopping(lab, docker_client, report):
    def sample() -> dict[str | None, int]:
        return versions(Load(f"{lab.url}/", {}, threads=2, count=20, version=replica).run())

    wait_for(lambda: sample().keys() == {"replica-1", "replica-2"}, 60, "both replicas behind the front proxy")
    both = Load(f"{lab.url}/", {}, threads=4, count=200, version=replica).run()
    assert failures(both) == []
    assert set(versions(both)) == {"replica-1", "replica-2"}

    load = Load(f"{lab.url}/", {}, threads=4, count=100_000, seconds=20, version=replica).start()
    time.sleep(3)
    stopped = time.monotonic()
    lab.compose("stop", "-t", "1", "qotm2")
    time.sleep(8)
    answers = load.stop()
    settle = 2.0  # health checks every 1 s, 2 failures to be unhealthy
    after = [a for a in answers if a.started >= stopped + settle]
    failed = failures(answers)
    report(f"compose lab: {versions(both)} before; replica-2 stopped under load: {len(failed)} of {len(answers)} "
           f"failed ({len(failed) / len(answers):.2%}), {len(failures(after))} of {len(after)} after {settle:.0f}s; "
           f"after it only {versions(after)}; failed with {sorted({(a.status, a.version) for a in failed})}")
    assert len(after) >= 200
    assert len(failed) / len(answers) < 0.01
    assert failures(after) == []
    assert versions(after) == {"replica-1": len(after)}

    lab.compose("start", "qotm2")
    lab.compose("restart", "-t", "1", "sidecar2")  # it shared the stopped replica's namespace: join the new one
    wait_for(lambda: "replica-2" in sample(), 30, "replica-2 back behind the front proxy")


@pytest.mark.docker
def test_down_leaves_no_container(lab, docker_client):
    assert len(lab.containers(docker_client)) == 5
    lab.compose("down", "-t", "2")
    assert lab.containers(docker_client) == []
