"""The exercise pages replayed as a participant would, against the local control plane (tests/cluster):
`lab reset N`, then pages N to the last before the mesh page (see LOCAL), every `$ ` line in page order in one
shell per page, each step's check failing before the step and passing after it. Lines that need running
containers (tests/exercises/local.py) are skipped, counted and listed. Pages 1 and 2 are Docker alone and need
nothing of this platform: page 1 (on the workshop's `kind` network) is replayed in the workshop tier, page 2
(Compose) in the docker tier as well (tests/exercises/test_compose_page.py).

The workspace is a git checkout of the services in tmp_path; forge builds with the offline base image and pushes
to the session's registry, which the cluster advertises (ConfigMap kube-public/local-registry-hosting) as kind's
does `localhost:5001`; kubectl's context points at a fresh namespace. The workshop tier will run the same
replay inside `./shopbox.sh run -- bash` with a `can_run` that accepts every line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from exercises.lab import course
from exercises.lab.page import Page
from exercises.lab.replay import reset_and_replay, summary
from exercises.lab.shell import Bash, Session
from tests.cluster import KubeCluster
from tests.cluster.fixtures import _report
from tests.exercises.local import why_not

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
PAGES = course.load(ROOT / "exercises")
# Pages 1 and 2 are Docker alone (see above). The replay stops before the mesh page: PostgreSQL's volume (no
# storage provisioner), `kubectl exec` into postgres-0 and usersvc's readiness against it need real pods, which kwok
# does not run; the workshop tier replays it (tests/workshop/test_workshop_pages.py).
MESH = next(page for page in PAGES if page.path.stem.endswith("-mesh"))
LOCAL = [page for page in PAGES if 3 <= page.number < MESH.number]
COPIED = ("qotm", "envoy-canary", "prometheus-canary", "versions.env")


@dataclass
class Workspace:
    root: Path
    env: dict[str, str]
    namespace: str

    @property
    def run(self) -> Bash:
        return Bash(self.root, self.env)


def kubeconfig_in(cluster: KubeCluster, namespace: str, path: Path) -> Path:
    """A copy of the cluster's kubeconfig whose current context uses `namespace` (the pages name none)."""
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    (context,) = [c for c in config["contexts"] if c["name"] == config["current-context"]]
    context["context"]["namespace"] = namespace
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, kube_cluster: KubeCluster, registry: Any,
              python_base_image: str, docker_client: Any) -> Iterator[Workspace]:
    top = tmp_path_factory.mktemp("pages")
    root = top / "shopbox"
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, root / name)
    (root / "forge.yaml").write_text(yaml.safe_dump({"build_args": {"BASE_IMAGE": python_base_image}}))
    git = ["git", "-c", "user.name=lab", "-c", "user.email=lab@shopbox.invalid", "-C", str(root)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "the workshop as cloned"]):
        subprocess.run([*git, *args], check=True, capture_output=True)

    namespace = f"t-pages-{uuid.uuid4().hex[:6]}"
    kube_cluster.kubectl("create", "namespace", namespace)
    kube_cluster.wait_for(f"ServiceAccount default in {namespace}", lambda: kube_cluster.kubectl(
        "get", "serviceaccount", "default", "-n", namespace, check=False).returncode == 0, timeout=30)
    hosting = yaml.safe_dump({"host": registry.host})
    kube_cluster.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "local-registry-hosting", "namespace": "kube-public"},
        "data": {"localRegistryHosting.v1": hosting}}))
    env = {k: v for k, v in os.environ.items() if k not in ("CANARY", "FORGE_PROFILE", "FORGE_VERBOSE")}
    # REGISTRY as the shopbox shell exports it (exercises/README.md, "Names"): the registry the cluster pulls from.
    env.update(KUBECONFIG=str(kubeconfig_in(kube_cluster, namespace, top / "kubeconfig")), NO_COLOR="1",
               PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}", REGISTRY=registry.host)
    try:
        yield Workspace(root, env, namespace)
    finally:
        kube_cluster.kubectl("delete", "configmap", "local-registry-hosting", "-n", "kube-public", check=False)
        kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
        for image in docker_client.images.list():
            for tag in image.tags:
                if tag.startswith(f"{registry.host}/"):
                    docker_client.images.remove(tag)


def page_named(number: int) -> Page:
    return next(page for page in PAGES if page.number == number)


@pytest.mark.parametrize("start", [page.number for page in LOCAL])
def test_reset_then_every_page_to_the_end(workspace: Workspace, start: int, request: pytest.FixtureRequest) -> None:
    seconds, reports = reset_and_replay(LOCAL, page_named(start), workspace.run,
                                        lambda: Session(workspace.root, workspace.env), why_not)
    _report(request, "\n".join([f"lab reset {start} ({seconds:.0f} s), then pages {start}-{LOCAL[-1].number} on the "
                                 f"local control plane (page {MESH.number}, the mesh, needs real pods: workshop tier "
                                 "only):", *summary(reports, skipped=start == LOCAL[0].number)]))
    drifted = [d for r in reports for d in r.drifted]
    assert not drifted, "\n".join(drifted)
