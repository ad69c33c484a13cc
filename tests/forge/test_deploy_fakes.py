"""The deploy scenarios (tests/forge/scenarios.py) through the CLI against the in-memory fakes (tests/forge/fakes.py):
the fast run of each behaviour tests/forge/test_deploy_cluster.py runs against a real API server, the real Docker
engine and a real registry. Then what only the fakes can stage (log lines of crash-looping pods, a rollout that
never finishes, an object replaced between forge's check and its delete, pods a quota refuses)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.forge import scenarios
from tests.forge.cli import Ran, forge
from tests.forge.fakes import KINDS, FakeAPIServer, FakeEngine, FakeRegistry, backends

pytestmark = pytest.mark.unit

NS = "shop"  # the sample workspace's forge.yaml namespace
HOST = "localhost:5001"  # and its registry


@dataclass
class FakeDriver(scenarios.Driver):
    root: Path
    api: FakeAPIServer
    engine: FakeEngine
    namespace: str = NS
    registry: str = HOST
    rollout: str = "5s"
    give_up: str = "5s"

    @property
    def context(self) -> str:
        return "fake"

    def forge(self, *args: str, env: dict[str, str] | None = None) -> Ran:
        return forge(*args, cwd=self.root, env=env, backends=backends(self.api, self.engine))

    def path(self, kind: str, name: str) -> str:
        return next(r for r in KINDS if r.kind == kind).path(self.namespace, name)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        with self.api.lock:
            return self.api.named(kind, name, self.namespace)

    def state(self) -> dict[str, tuple[str, str]]:
        return self.api.state(self.namespace)

    def create(self, obj: dict[str, Any]) -> None:
        obj["metadata"]["namespace"] = self.namespace
        self.api.put(self.path(obj["kind"], obj["metadata"]["name"]), obj)

    def label(self, kind: str, name: str, key: str, value: str) -> None:
        obj = self.object(kind, name)
        obj["metadata"]["labels"][key] = value
        self.api.put(self.path(kind, name), obj)

    def in_registry(self, ref: str) -> bool:
        return ref in self.engine.registry.images  # type: ignore[union-attr]

    def in_engine(self, ref: str) -> bool:
        return ref in self.engine.images

    @contextmanager
    def advertised_registry(self) -> Iterator[str]:
        self.api.local_registry = HOST
        try:
            yield HOST
        finally:
            self.api.local_registry = None

    def break_build(self, image: str) -> None:
        self.engine.broken[image] = "step 3/3: COPY app /app: no such file"

    def registry_down(self) -> str:
        self.engine.registry.up = False  # type: ignore[union-attr]
        return HOST


@pytest.fixture
def driver(sample_workspace: Path) -> FakeDriver:
    return FakeDriver(sample_workspace, FakeAPIServer(namespaces=(NS,)), FakeEngine(FakeRegistry(HOST)))


@pytest.mark.parametrize("scenario", scenarios.SCENARIOS)
def test_scenario(driver: FakeDriver, scenario: str) -> None:
    scenarios.SCENARIOS[scenario](driver)


# ---- what only the fakes can stage ------------------------------------------------------------------------------


def test_crash_loop_shows_the_last_log_lines(driver: FakeDriver) -> None:
    scenarios.fail_pods(driver, "crash")
    driver.api.logs.update({(f"web-1-{i}", "web"): "starting\nTraceback\nValueError: boom\n" for i in (0, 1)})
    ran = driver.forge("deploy", "web")
    assert ran.error().startswith("error: Deployment/web failed: pod web-1-0: container web is crash looping")
    assert "  pod web-1-0: container web is crash looping (restarts 3); last log lines:\n      starting\n" \
           "      Traceback\n      ValueError: boom\n" in ran.stdout


def test_a_rollout_that_does_not_finish_fails_at_the_timeout(driver: FakeDriver) -> None:
    scenarios.fail_pods(driver, "pending")
    assert driver.forge("deploy", "web", "--timeout", "0.05").error() == (
        "error: Deployment/web not rolled out after 0.05 s: pod web-1-0: Pending, not ready yet "
        "(and 1 more pod problems above)")


def test_pods_refused_by_the_quota_fail_the_deploy_at_once_naming_quota_and_namespace(driver: FakeDriver) -> None:
    """The real quota's twin: tests/classroom/test_class_cluster.py (a seat's token, jaeger and postgres)."""
    driver.api.pod_quota[NS] = 1  # the sample's web asks for two replicas
    started = time.monotonic()
    ran = driver.forge("deploy", "web", "--timeout", "30")
    assert time.monotonic() - started < 5  # a refusal nothing will lift: no waiting for the timeout
    assert ran.error() == (
        f"error: Deployment/web failed: its pods are refused by ResourceQuota seat of namespace {NS}: requested "
        "pods=1, used pods=1, limited pods=1 (free some of it (forge list; forge delete a deployment you no longer "
        "need), or ask whoever runs the cluster for more; kubectl describe resourcequota shows it)")


def test_delete_leaves_an_object_replaced_meanwhile(driver: FakeDriver) -> None:
    """The uid precondition: an object recreated between forge's label check and its delete is not deleted."""
    driver.deploy("web")
    driver.api.recreated.add(f"/api/v1/namespaces/{NS}/services/web")
    said = driver.forge("delete", "web").ok().stdout.splitlines()
    assert "  left Service/web alone: it was replaced while forge was deleting it" in said
    assert driver.exists("Service", "web")
