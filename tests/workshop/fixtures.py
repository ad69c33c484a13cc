"""The `workshop` tier's one kind cluster, driven by the real `./shopbox.sh` as a participant drives it.

Only the image sources differ from a participant's machine (nothing can be pulled here): the node and registry
images come from tests/kind/node_image.py through SHOPBOX_VERSIONS_FILE, the shell image from the offline build
(tests/shopbox/offline_image.py) through SHOPBOX_IMAGE, the Envoy, Prometheus, PostgreSQL and Jaeger images are
side-loaded with `kind load docker-image` (tests/kind/standins.py), and forge.yaml names the offline Python base as
BASE_IMAGE.
The cluster and registry keep the participant's names (`shopbox`, `shopbox-registry` on localhost:5001): the
exercise pages are replayed as written, and they name both. So that a developer's own `shopbox` cluster is never
touched, the tier refuses to start while one exists that it did not create (its node runs another image). The
API server, edge and Prometheus get free host ports (the pages reach them through the shell, not the host). The
session's cluster is removed with `./shopbox.sh down` at the end.
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
from tests.platform.machine_lock import kind_lock
from tests.platform.procs import free_ports
from tests.shopbox import offline_image
from tests.shopbox.offline_image import run_checked

# What a participant's checkout has that the workshop uses (the shell mounts this copy at the same path).
WORKSPACE_PARTS = ("shopbox.sh", "shopbox", "versions.env", "pyproject.toml", "forge", "qotm", "envoy-canary",
                   "prometheus-canary", "exercises", "compose-lab", "usersvc", "postgres", "eds", "jaeger")
CLUSTER = "shopbox"  # ./shopbox.sh's defaults, which the pages name: shopbox-control-plane, localhost:5001
REGISTRY = f"{CLUSTER}-registry"
# Sourced by the shell's bash (BASH_ENV) when the pages are replayed: `docker build` gets the offline Python base.
# Inside .git, so it is no file of the checkout.
OFFLINE_BUILD = ".git/shopbox-offline-build.sh"
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

    def ensure_cluster(self) -> None:
        """Cluster, registry and shell up (created or reused), the stand-in images side-loaded into the node."""
        self.run("kind", "load", "docker-image", "--name", CLUSTER, *standins.images())

    def kubectl_json(self, *args: str) -> Any:
        """kubectl on the node itself (no shell container: fast, for polling)."""
        proc = subprocess.run(["docker", "exec", self.node, "kubectl", "--kubeconfig=/etc/kubernetes/admin.conf",
                               *args, "-o", "json"], capture_output=True, text=True, timeout=60, check=True)
        return json.loads(proc.stdout)

    def state(self) -> str:
        """What a failed replay line leaves on the node, for the failure report: the default namespace's pods and
        endpoints, whether the edge's NodePort answers the node itself now, its routes, and the firewall's size."""
        script = ("k='kubectl --kubeconfig=/etc/kubernetes/admin.conf'; $k get pods,endpointslices -n default -o wide;"
                  " ip=$(ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1);"
                  " if timeout 5 bash -c \"exec 3<>/dev/tcp/$ip/30080\"; then echo \"edge $ip:30080: connects\";"
                  " else echo \"edge $ip:30080: no connection\"; fi; ip route | head -n 20;"
                  " iptables-save | grep -c KUBE-POD-FW | sed 's/^/kube-router pod firewall rules: /'")
        proc = subprocess.run(["docker", "exec", self.node, "sh", "-c", script], capture_output=True, text=True,
                              timeout=60, check=False)
        return f"the node at {time.strftime('%H:%M:%S')}:\n{proc.stdout}{proc.stderr}"

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
        return sorted(set(_containers()) & {self.node, REGISTRY})


def _containers() -> dict[str, str]:
    """Every container (any state) by name, with its image."""
    out = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}} {{.Image}}"], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return dict(line.split(" ", 1) for line in out if line)


def _refuse_foreign_cluster() -> None:
    """Fail (not skip) while a `shopbox` cluster or registry exists that a test run did not create."""
    test_images = (node_image.NODE_REPOSITORY + ":", node_image.REGISTRY_REPOSITORY + ":")
    for name, image in _containers().items():
        if name in (f"{CLUSTER}-control-plane", REGISTRY) and not image.startswith(test_images):
            raise AssertionError(f"container {name} (image {image}) is not the workshop tier's: the tier replays the "
                                 "exercise pages, which name the default cluster; run `./shopbox.sh down` first")


def _workspace(target: Path) -> Path:
    for part in WORKSPACE_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target / part)
    # No image can be pulled here: the services' Dockerfiles get the offline Python base, from forge through
    # forge.yaml's build_args and from a plain `docker build` (exercise 1) through OFFLINE_BUILD.
    base = ensure(PYTHON_SERVICES)
    (target / "forge.yaml").write_text(yaml.safe_dump({"build_args": {"BASE_IMAGE": base}}))
    # A participant's checkout is a git clone (pages check their edits with `git diff`).
    git = ["git", "-c", "user.name=workshop", "-c", "user.email=workshop@shopbox.invalid", "-C", str(target)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "the workshop as cloned"]):
        run_checked([*git, *args])
    (target / OFFLINE_BUILD).write_text(f"docker() {{\n  if [ \"${{1:-}}\" = build ]; then\n"
                                        f"    shift; command docker build --build-arg BASE_IMAGE={base} \"$@\"\n"
                                        f"  else command docker \"$@\"; fi\n}}\n")
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
    api, edge, prometheus = free_ports(3)
    ports = {"registry": 5001, "api": api, "edge": edge, "prometheus": prometheus}
    # A developer's own SHOPBOX_* settings (another cluster name or registry port) and kubectl/forge settings
    # would make the shell differ from a participant's.
    env = {key: value for key, value in os.environ.items() if not key.startswith("SHOPBOX_")
           and key not in ("KUBECONFIG", "CANARY", "FORGE_PROFILE", "DOCKER_HOST", "NO_COLOR")}
    env.update(SHOPBOX_VERSIONS_FILE=str(versions), SHOPBOX_IMAGE=shell, SHOPBOX_CACHE=str(work / "shopbox-cache"),
               SHOPBOX_API_PORT=str(api), SHOPBOX_EDGE_PORT=str(edge), SHOPBOX_PROMETHEUS_PORT=str(prometheus))
    ws = Workshop(root, env, ports)
    ws.timings["images ready (built or cached)"] = prepared
    with kind_lock():  # one kind cluster at a time on this machine
        _refuse_foreign_cluster()
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
