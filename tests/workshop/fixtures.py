"""The `workshop` tier's one kind cluster, driven by the real `./shopbox.sh` as a participant drives it.

Only the image sources differ from a participant's machine (nothing can be pulled here): the node and registry
images come from tests/kind/node_image.py through SHOPBOX_VERSIONS_FILE, the shell image from the offline build
(tests/shopbox/offline_image.py) through SHOPBOX_IMAGE, the Envoy and Prometheus images are side-loaded with
`kind load docker-image` (tests/kind/standins.py), and forge.yaml names the offline Python base as BASE_IMAGE.
The cluster, registry and ports get test names and free ports so that a developer's own `shopbox` cluster is
never touched. The session's cluster is removed with `./shopbox.sh down` at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kind import node_image, standins
from tests.platform.base_images import PYTHON_SERVICES, ROOT, ensure
from tests.platform.fixtures import require
from tests.platform.procs import free_ports
from tests.shopbox import offline_image

# What a participant's checkout has that the workshop uses (the shell mounts this copy at the same path).
WORKSPACE_PARTS = ("shopbox.sh", "shopbox", "versions.env", "pyproject.toml", "forge", "qotm", "envoy-canary",
                   "prometheus-canary", "exercises")
# SHOPBOX_TEST_CLUSTER lets a second worktree run this tier beside the first on one Docker engine.
CLUSTER = os.environ.get("SHOPBOX_TEST_CLUSTER", "shopbox-test")
SHELL_UID = 1000  # the shell user's uid when the host user is root (shopbox/entrypoint.sh)


@dataclass
class Workshop:
    """A copy of the repository, the environment that points ./shopbox.sh at the offline images, and helpers."""

    root: Path
    env: dict[str, str]
    ports: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def node(self) -> str:
        return f"{CLUSTER}-control-plane"

    @property
    def edge(self) -> str:
        """The Envoy edge from the host, through kind's port mapping."""
        return f"http://127.0.0.1:{self.ports['edge']}"

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.ports['prometheus']}"

    def shopbox(self, *args: str, timeout: float = 900, check: bool = True,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """`./shopbox.sh ARGS` of the workspace copy, run from its root."""
        proc = subprocess.run(["bash", str(self.root / "shopbox.sh"), *args], cwd=self.root,
                              env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(f"./shopbox.sh {' '.join(args)} exited {proc.returncode}\n"
                                 f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}")
        return proc

    def run(self, *command: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
        """COMMAND inside the shopbox shell (`./shopbox.sh run -- COMMAND`)."""
        return self.shopbox("run", "--", *command, timeout=timeout, check=check)

    def sh(self, script: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A shell line inside the shopbox shell, as a participant types it."""
        return self.run("bash", "-c", script, timeout=timeout, check=check)

    def kubectl_json(self, *args: str) -> Any:
        """kubectl on the node itself (no shell container: fast, for polling)."""
        proc = subprocess.run(["docker", "exec", self.node, "kubectl", "--kubeconfig=/etc/kubernetes/admin.conf",
                               *args, "-o", "json"], capture_output=True, text=True, timeout=60, check=True)
        return json.loads(proc.stdout)

    def pods(self, selector: str, namespace: str = "default") -> list[dict[str, Any]]:
        return self.kubectl_json("get", "pods", "-n", namespace, "-l", selector)["items"]

    def wait_for(self, what: str, check: Any, timeout: float = 180, interval: float = 1) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(interval)

    def containers(self) -> list[str]:
        """Every container (any state) that belongs to this workshop's cluster or registry."""
        out = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True,
                             check=True).stdout.split()
        return [name for name in out if name.startswith(CLUSTER)]


def _workspace(target: Path) -> Path:
    for part in WORKSPACE_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target / part)
    # No image can be pulled here: the services' Dockerfiles get the offline Python base (forge build_args).
    (target / "forge.yaml").write_text(yaml.safe_dump({"build_args": {"BASE_IMAGE": ensure(PYTHON_SERVICES)}}))
    # A participant owns their checkout and the shell takes their uid; the tests run as root, which the shell
    # never becomes (its user stays uid 1000), so the copy belongs to that user.
    for path in (target, *target.rglob("*")):
        os.chown(path, SHELL_UID, SHELL_UID, follow_symlinks=False)
    return target


@contextmanager
def workshop_session(work: Path) -> Iterator[Workshop]:
    """Images built (or reused), a workspace copy under `work`, free ports; `./shopbox.sh down` at the end. The
    cluster itself is created by the first `./shopbox.sh run`, as for a participant."""
    started = time.monotonic()
    versions = node_image.versions_file()
    shell = offline_image.build()
    standins.images()
    prepared = time.monotonic() - started
    (work / "workspace").mkdir(parents=True)
    root = _workspace(work / "workspace")
    registry, api, edge, prometheus = free_ports(4)
    ports = {"registry": registry, "api": api, "edge": edge, "prometheus": prometheus}
    env = {**os.environ, "SHOPBOX_VERSIONS_FILE": str(versions), "SHOPBOX_IMAGE": shell,
           "SHOPBOX_CACHE": str(work / "shopbox-cache"), "SHOPBOX_CLUSTER": CLUSTER,
           "SHOPBOX_REGISTRY_NAME": f"{CLUSTER}-registry", "SHOPBOX_REGISTRY_PORT": str(registry),
           "SHOPBOX_API_PORT": str(api), "SHOPBOX_EDGE_PORT": str(edge), "SHOPBOX_PROMETHEUS_PORT": str(prometheus)}
    for name in ("KUBECONFIG", "CANARY", "FORGE_PROFILE", "DOCKER_HOST"):
        env.pop(name, None)
    ws = Workshop(root, env, ports)
    ws.timings["images ready (built or cached)"] = prepared
    ws.shopbox("down")  # a cluster a crashed earlier run left behind
    try:
        yield ws
    finally:
        ws.shopbox("down", check=False)


@pytest.fixture(scope="session")
def workshop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workshop]:
    require(shutil.which("docker") is not None, "docker CLI missing (run tests/platform/install.sh)")
    require(subprocess.run(["docker", "info"], capture_output=True).returncode == 0,
            "Docker engine not reachable (run tests/platform/start.sh)")
    with workshop_session(tmp_path_factory.mktemp("workshop")) as ws:
        yield ws
