"""`lab` records its checks in a seat's progress record on a real API server (cluster tier): the real `lab` and
`kubectl`, with a seat's own credentials (a bound token of the seat's ServiceAccount, the seat Role of
classroom/rbac.py, the join file's kubeconfig shape), so the Role's rules are what allows the write; without them
the command's output and exit status do not change and one line says why."""

from __future__ import annotations

import base64
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from classroom import joinfile, progress, seat
from classroom.model import ClassSpec
from classroom.names import seat_namespace
from tests.cluster.launcher import KubeCluster
from tests.exercises.test_lab_cli import page

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]


def seat_kubeconfig(cluster: KubeCluster, spec: ClassSpec, name: str, account: str, path: Path) -> Path:
    """A kubeconfig as a join file holds it: the API server, its CA, a bound token of `account`, the seat namespace."""
    namespace = seat_namespace(spec.name, name)
    token = cluster.kubectl("create", "token", account, "-n", namespace, "--duration=10m").stdout.strip()
    path.write_text(yaml.safe_dump(joinfile.kubeconfig(spec, namespace, token)))
    path.chmod(0o600)
    return path


@pytest.fixture
def spec(kube_cluster: KubeCluster) -> Iterator[ClassSpec]:
    admin = kube_cluster.kubectl_json("config", "view", "--raw", "--minify")
    server = admin["clusters"][0]["cluster"]["server"]
    ca = Path(admin["clusters"][0]["cluster"]["certificate-authority"]).read_bytes()
    found = ClassSpec(f"lr{uuid.uuid4().hex[:6]}", datetime.now(UTC) + timedelta(hours=1), "test", server,
                      base64.b64encode(ca).decode())
    objects = [seat.namespace(found, "ana"), seat.service_account(found, "ana"), seat.role(found, "ana"),
               seat.role_binding(found, "ana")]
    kube_cluster.kubectl("apply", "-f", "-", input="\n---\n".join(yaml.safe_dump(o) for o in objects))
    kube_cluster.kubectl("create", "serviceaccount", "nobody", "-n", f"{found.name}-ana")
    yield found
    kube_cluster.kubectl("delete", "namespace", f"{found.name}-ana", "--wait=false", check=False)


def lab(kubeconfig: Path, pages: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "KUBECONFIG": str(kubeconfig), "LAB_PAGES": str(pages),
           "SHOPBOX_SEAT": "ana", "HOME": str(pages)}
    return subprocess.run([sys.executable, "-m", "exercises.lab", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_lab_records_a_seats_checks_with_the_seats_own_token(kube_cluster: KubeCluster, spec: ClassSpec,
                                                              tmp_path: Path) -> None:
    (tmp_path / "01-one.md").write_text(page(1, "one", ["Marker"]).replace(
        "has 1.1", "kubectl get configmap marker").replace("add 1.1", "kubectl create configmap marker"))
    kubeconfig = seat_kubeconfig(kube_cluster, spec, "ana", "seat", tmp_path / "seat.kubeconfig")
    namespace = f"{spec.name}-ana"

    def record() -> progress.Progress:
        found = kube_cluster.kubectl_json("get", "configmap", progress.NAME, "-n", namespace)
        assert found["metadata"]["labels"] == {progress.LABEL: "true"}
        return progress.parse(found)

    for attempt in (1, 2):
        done = lab(kubeconfig, tmp_path, "check", "1.1")
        assert done.returncode == 1 and done.stderr == "", done.stderr
        assert (record().failing, record().failures) == ("1.1", attempt)
    done = lab(kubeconfig, tmp_path, "solve", "1.1")
    assert done.returncode == 0, done.stdout + done.stderr
    found = record()
    assert (found.reached, found.failing, found.failures) == ("1.1", "", 0)
    assert found.updated is not None and abs((datetime.now(UTC) - found.updated).total_seconds()) < 60


def test_a_seat_that_may_not_write_gets_one_warning_and_the_same_result(kube_cluster: KubeCluster, spec: ClassSpec,
                                                                       tmp_path: Path) -> None:
    (tmp_path / "01-one.md").write_text(page(1, "one", ["Anything"]).replace("has 1.1", "true"))
    kubeconfig = seat_kubeconfig(kube_cluster, spec, "ana", "nobody", tmp_path / "nobody.kubeconfig")
    done = lab(kubeconfig, tmp_path, "check", "1.1")
    assert done.returncode == 0
    assert done.stdout == "✓ 1.1 Anything\n"
    assert done.stderr.startswith("lab: progress not recorded for the instructor (Error from server (Forbidden)")
    assert len(done.stderr.splitlines()) == 1
