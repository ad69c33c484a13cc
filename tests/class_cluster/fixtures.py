"""pytest fixtures for the class tests on a real multi-node kind cluster (`workshop` tier; tests/README.md).

- class_cluster (session): the ClassCluster of tests/class_cluster/cluster.py: 3 nodes, kube-router enforcing
  NetworkPolicy, the API server the only thing other Docker networks reach, a fake metadata endpoint on every node,
  the test registry image in every node. Created on first use under the machine's kind lock, shared by every test
  that asks for it, and removed after the last of them rather than at the end of the session: the single-seat
  workshop tests that follow make their own kind cluster, and two at once would share 2 cores.
  SHOPBOX_CLASS_KEEP=1 keeps it for the next run, which reuses it.
- class_namespace (function): a fresh namespace in it (its `default` ServiceAccount exists), deleted after.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack

import pytest

from tests.class_cluster import cluster as class_cluster_module
from tests.class_cluster.cluster import ClassCluster
from tests.cluster.fixtures import _report, fresh_namespace
from tests.kind import node_image
from tests.platform.fixtures import require
from tests.platform.machine_lock import kind_lock

FIXTURE = "class_cluster"
_open: list[Callable[[], None]] = []  # closes the session's cluster and the lock; empty once closed


def _close() -> None:
    while _open:
        _open.pop()()


@pytest.fixture(scope="session")
def class_cluster(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[ClassCluster]:
    require(shutil.which("docker") is not None, "docker CLI missing (run tests/platform/install.sh)")
    require(subprocess.run(["docker", "info"], capture_output=True).returncode == 0,
            "Docker engine not reachable (run tests/platform/start.sh)")
    registry_image = node_image.registry_image()
    stack = ExitStack()
    _open.append(stack.close)
    try:
        stack.enter_context(kind_lock())
        if not class_cluster_module.keep():
            stack.callback(class_cluster_module.delete)
        cluster = class_cluster_module.create(tmp_path_factory.mktemp("class-cluster"), registry_image)
        _report(request, "[class_cluster] " + ", ".join(f"{k} {v:.0f} s" for k, v in cluster.timings.items())
                + f"; memory of the 3 nodes at rest {cluster.memory_at_rest:.0f} MiB")
        yield cluster
    finally:
        _close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    """After the last test that uses the class cluster (and its function fixtures' teardown), remove it."""
    result = yield
    if _open and FIXTURE in getattr(item, "fixturenames", ()):
        items = item.session.items
        later = items[items.index(item) + 1:]
        if not any(FIXTURE in getattr(other, "fixturenames", ()) for other in later):
            _close()
    return result


@pytest.fixture
def class_namespace(class_cluster: ClassCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_namespace(class_cluster, request)
