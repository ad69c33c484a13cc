"""forge in a classroom seat, on the local control plane (a real API server: RBAC, quota and Pod Security admission):
a seat made from the seat model (classroom/seat.py), and forge run with the seat's own bound token, as the joined
shell runs it. `forge setup` writes the seat's registry and namespace, `node_ports: false` and the pull Secret,
and leaves the namespace's Pod Security labels alone; what forge then renders is admitted by the seat's quota
(no NodePorts), where the same Services rendered for a local cluster are refused."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from classroom import joinfile, seat
from classroom.model import ClassSpec, Registry
from tests.cluster import KubeCluster, KubectlError

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
FORGE = str(Path(sys.executable).parent / "forge")


@dataclass
class Seat:
    namespace: str
    registry: str
    kubeconfig: Path

    @property
    def env(self) -> dict[str, str]:
        return {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "KUBECONFIG": str(self.kubeconfig),
                "HOME": str(self.kubeconfig.parent), "NO_COLOR": "1"}


def class_spec(cluster: KubeCluster) -> ClassSpec:
    """A class of its own (a random name) on CLUSTER, ending in an hour."""
    config = json.loads(cluster.kubeconfig.read_text())["clusters"][0]["cluster"]
    return ClassSpec(name=f"c{uuid.uuid4().hex[:6]}", ends=datetime.now(UTC) + timedelta(hours=1), cluster_id="test",
                     server=config["server"],
                     ca_data=base64.b64encode(Path(config["certificate-authority"]).read_bytes()).decode())


def apply_seat(cluster: KubeCluster, spec: ClassSpec, registry: Registry) -> str:
    """Seat `ana` of SPEC applied server-side, as `class up` applies it; its namespace. (A client-side apply creates
    the `default` ServiceAccount the seat model sets pull Secrets on, and fails AlreadyExists when the
    ServiceAccount controller has just made it in the new namespace: seen in CI.)"""
    objects = seat.seat_objects(spec, "ana", registry)
    cluster.kubectl("apply", "--server-side", "-f", "-",
                    input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    return str(objects[0]["metadata"]["name"])


@pytest.fixture
def a_seat(kube_cluster: KubeCluster, registry: Any, tmp_path: Path) -> Iterator[Seat]:
    """Seat `ana` of a class of its own, its registry the test's real one; the seat's kubeconfig (bound token)."""
    spec = class_spec(kube_cluster)
    namespace = apply_seat(kube_cluster, spec, Registry(registry.host, "ana", "pw"))
    try:
        kube_cluster.wait_for("the seat's quota counted", lambda: kube_cluster.kubectl_json(
            "get", "resourcequota", "seat", "-n", namespace).get("status", {}).get("used") is not None, timeout=60)
        token = kube_cluster.kubectl("create", "token", seat.SEAT_ACCOUNT, "-n", namespace, "--duration=1h").stdout
        config = tmp_path / "seat-kubeconfig"
        config.write_text(yaml.safe_dump(joinfile.kubeconfig(spec, namespace, token.strip())))
        yield Seat(namespace, registry.host, config)
    finally:
        kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_forge_setup_in_a_seat_writes_its_registry_namespace_no_node_ports_and_pull_secret(
        kube_cluster: KubeCluster, a_seat: Seat, docker_client: Any, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    # Left from the participant's own kind cluster: the seat's values must win.
    (workspace / "forge.yaml").write_text("registry: localhost:5001\nnamespace: default\n")
    labels_before = kube_cluster.kubectl_json("get", "namespace", a_seat.namespace)["metadata"]["labels"]
    result = subprocess.run([FORGE, "setup", str(workspace), "--yes"], env=a_seat.env, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    written = yaml.safe_load((workspace / "forge.yaml").read_text())
    assert written == {"registry": a_seat.registry, "namespace": a_seat.namespace, "concurrency": 4,
                       "node_ports": False, "image_pull_secrets": ["registry-pull"]}
    assert f"seat: namespace {a_seat.namespace} is seat ana of class " in result.stdout
    assert f"namespace {a_seat.namespace}: enforcing Pod Security restricted (set by the class" in result.stdout
    assert "not labelled" not in result.stdout  # no change to the namespace was even tried
    assert kube_cluster.kubectl_json("get", "namespace", a_seat.namespace)["metadata"]["labels"] == labels_before


def _render(workspace: Path) -> str:
    """Every service of the workspace."""
    return subprocess.run([FORGE, "render", str(workspace)], cwd=workspace, capture_output=True, text=True,
                          check=True, timeout=120).stdout


def test_what_forge_renders_in_a_seat_is_admitted_where_the_local_rendering_is_refused(
        kube_cluster: KubeCluster, a_seat: Seat, tmp_path: Path) -> None:
    """The edge's and Prometheus' Services: NodePort for a local cluster (refused by the seat's quota), ClusterIP
    with the seat's forge.yaml; every pod with the registry's pull Secret."""
    workspace = tmp_path / "ws"
    for part in ("envoy-canary", "prometheus-canary"):
        shutil.copytree(REPO / part, workspace / part)
    (workspace / ".git").mkdir()  # the workspace root
    local = _render(workspace)
    node_ports = [d for d in yaml.safe_load_all(local) if d and d["kind"] == "Service"
                  and d["spec"].get("type") == "NodePort"]
    assert sorted(d["metadata"]["name"] for d in node_ports) == ["envoy", "prometheus"]
    with pytest.raises(KubectlError) as refused:
        kube_cluster.kubectl("--kubeconfig", str(a_seat.kubeconfig), "apply", "--dry-run=server", "-f", "-",
                             input=yaml.safe_dump(node_ports[0]))
    assert "exceeded quota: seat" in str(refused.value) and "services.nodeports" in str(refused.value)

    (workspace / "forge.yaml").write_text("node_ports: false\nimage_pull_secrets: [registry-pull]\n")
    docs = [d for d in yaml.safe_load_all(_render(workspace)) if d]
    types = {d["metadata"]["name"]: d["spec"].get("type") for d in docs if d["kind"] == "Service"}
    assert (types["envoy"], types["prometheus"]) == ("ClusterIP", "ClusterIP")
    assert "NodePort" not in types.values()
    workloads = [d for d in docs if d["kind"] == "Deployment"]
    assert workloads and all(d["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "registry-pull"}]
                             for d in workloads)
    # A dry run of the Services and the workloads (a RoleBinding's dry run would need its Role created first).
    checked = [d for d in docs if d["kind"] in ("Service", "Deployment")]
    applied = kube_cluster.kubectl("--kubeconfig", str(a_seat.kubeconfig), "apply", "--dry-run=server", "-f", "-",
                                   input=yaml.safe_dump_all(checked))
    assert "service/envoy created (server dry run)" in applied.stdout, applied.stdout + applied.stderr
