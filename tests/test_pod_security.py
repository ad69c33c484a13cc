"""Pod Security "restricted" on the local control plane (tests/cluster): a namespace that enforces it admits every
object `forge render .` produces and the plain manifests of the kubectl exercises (qotm/kubernetes/), with every
pod created; and it refuses a pod that does not comply, so the check above can fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cluster import KubeCluster, KubectlError

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[1]
FORGE = str(Path(sys.executable).parent / "forge")

NON_COMPLIANT_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: careless
spec:
  containers:
  - name: web
    image: shopbox/qotm:1.0
"""


@pytest.fixture
def restricted(kube_cluster: KubeCluster, kube_namespace: str) -> str:
    """The test namespace, enforcing (and warning about) Pod Security "restricted"."""
    kube_cluster.kubectl("label", "namespace", kube_namespace, "pod-security.kubernetes.io/enforce=restricted",
                         "pod-security.kubernetes.io/enforce-version=latest",
                         "pod-security.kubernetes.io/warn=restricted")
    return kube_namespace


def apply(cluster: KubeCluster, namespace: str, path: Path) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl("apply", "-n", namespace, "-R", "-f", str(path))


def pods_of(cluster: KubeCluster, namespace: str, workload: dict[str, Any]) -> list[dict[str, Any]]:
    selector = ",".join(f"{k}={v}" for k, v in workload["spec"]["selector"]["matchLabels"].items())
    items: list[dict[str, Any]] = cluster.kubectl_json("get", "pods", "-n", namespace, "-l", selector)["items"]
    return items


def test_restricted_namespace_admits_everything_forge_renders(kube_cluster: KubeCluster, restricted: str,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    subprocess.run([FORGE, "render", str(REPO), "-n", restricted, "-o", str(out)], check=True, capture_output=True,
                   text=True, timeout=120)
    applied = apply(kube_cluster, restricted, out)
    assert "Warning" not in applied.stderr, applied.stderr  # a Deployment whose pods would be refused warns here
    deployments = kube_cluster.kubectl_json("get", "deployments", "-n", restricted)["items"]
    assert sorted(d["metadata"]["name"] for d in deployments) == ["auth", "eds", "envoy", "jaeger", "prometheus",
                                                                  "qotm", "usersvc"]
    statefulsets = kube_cluster.kubectl_json("get", "statefulsets", "-n", restricted)["items"]
    assert [s["metadata"]["name"] for s in statefulsets] == ["postgres"]
    for workload in deployments + statefulsets:  # their pods were admitted: every replica exists
        wanted = workload["spec"]["replicas"]
        kube_cluster.wait_for(f"pods of {workload['metadata']['name']}",
                              lambda d=workload, n=wanted: len(pods_of(kube_cluster, restricted, d)) == n)


def test_restricted_namespace_admits_the_plain_qotm_manifests(kube_cluster: KubeCluster, restricted: str) -> None:
    applied = apply(kube_cluster, restricted, REPO / "qotm" / "kubernetes")
    assert "Warning" not in applied.stderr, applied.stderr
    deployment = kube_cluster.kubectl_json("get", "deployment", "qotm", "-n", restricted)
    kube_cluster.wait_for("pods of the plain qotm Deployment",
                          lambda: len(pods_of(kube_cluster, restricted, deployment)) == 2)


def test_restricted_namespace_refuses_a_non_compliant_pod(kube_cluster: KubeCluster, restricted: str) -> None:
    with pytest.raises(KubectlError) as refused:
        kube_cluster.kubectl("apply", "-n", restricted, "-f", "-", input=NON_COMPLIANT_POD)
    message = str(refused.value)
    assert 'violates PodSecurity "restricted:latest"' in message
    for missing in ("allowPrivilegeEscalation != false", "runAsNonRoot != true", "seccompProfile"):
        assert missing in message
    assert kube_cluster.kubectl("get", "pod", "careless", "-n", restricted, check=False).returncode != 0
