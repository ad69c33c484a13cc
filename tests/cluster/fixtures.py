"""pytest fixtures for the `cluster` tier.

Load them with `pytest_plugins = ["tests.cluster.fixtures"]` (tests/conftest.py) or
`pytest -p tests.cluster.fixtures`. Tests that use them carry `pytestmark = pytest.mark.cluster`.

- kube_cluster (session): a KubeCluster with .kubeconfig, .env, .kubectl(*args), .kubectl_json(),
  .wait_for(). A LocalCluster started for the session, or the cluster of FORGE_TEST_KUBECONFIG.
- kube_namespace (function): a fresh namespace (its `default` ServiceAccount exists), deleted after.

A missing prerequisite (Go, kubectl) skips the tests, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator

import pytest

from .launcher import KubeCluster, LocalCluster, PrerequisiteMissing, external_cluster


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(reason: str) -> None:
    message = f"local Kubernetes cluster unavailable: {reason}"
    if _in_ci():
        pytest.fail(f"{message} (CI=true: prerequisites must be installed)", pytrace=False)
    pytest.skip(message)


def _report(request: pytest.FixtureRequest, line: str) -> None:
    """Write a line to the terminal, past pytest's output capture."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    if capture is None:
        reporter.write_line(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"\n{line}")


@pytest.fixture(scope="session")
def kube_cluster(request: pytest.FixtureRequest) -> Iterator[KubeCluster]:
    try:
        external = external_cluster()
    except PrerequisiteMissing as exc:
        _missing(str(exc))
    if external is not None:
        yield external
        return
    cluster = LocalCluster()
    try:
        cluster.start()
    except PrerequisiteMissing as exc:
        _missing(str(exc))
    _report(request, f"local Kubernetes cluster up in {cluster.startup_seconds:.1f} s ({cluster.server})")
    try:
        yield cluster
    finally:
        cluster.stop()


def fresh_namespace(cluster: KubeCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace named after the test, with its `default` ServiceAccount; deleted (without waiting) after."""
    base = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"t-{base}-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", name)
    # Pods are refused until the controller-manager has made the namespace's default SA.
    cluster.wait_for(
        f"ServiceAccount default in namespace {name}",
        lambda: cluster.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode == 0,
        timeout=30,
    )
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def kube_namespace(kube_cluster: KubeCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_namespace(kube_cluster, request)
