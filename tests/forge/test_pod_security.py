"""Pod Security "restricted" on the local control plane (tests/cluster): a namespace that enforces it admits every
object `forge render .` produces and the plain manifests of the kubectl exercises (qotm/kubernetes/), with every
pod created; and it refuses a pod that does not comply, so the check above can fail. `forge setup` labels the
namespace it deploys to that way (forge/cluster/podsecurity.py)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from forge.cluster import kube, podsecurity
from tests.cluster import KubeCluster, KubectlError
from tests.forge.cli import forge

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]

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
    forge("render", str(REPO), "-n", restricted, "-o", str(out), process=True).ok()
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
    """Exercise 3's pod and Deployment, applied as the page does (`envsubst < FILE | kubectl apply -f -`): Pod
    Security `restricted` holds from page 3 on (a classroom seat enforces it from the start)."""
    manifests = [path.read_text().replace("${REGISTRY}", "registry.example:5000/seat-1")
                 for path in sorted((REPO / "qotm" / "kubernetes").glob("*.yaml"))]
    applied = kube_cluster.kubectl("apply", "-n", restricted, "-f", "-", input="\n---\n".join(manifests))
    assert "Warning" not in applied.stderr, applied.stderr
    kube_cluster.wait_for("the bare pod hello", lambda: kube_cluster.kubectl(
        "get", "pod", "hello", "-n", restricted, check=False).returncode == 0)
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


@pytest.fixture
def forge_cluster(kube_cluster: KubeCluster, monkeypatch: pytest.MonkeyPatch) -> kube.Cluster:
    """forge's own client of the local control plane, as `forge setup` connects to it."""
    monkeypatch.setenv("KUBECONFIG", str(kube_cluster.kubeconfig))
    return kube.connect()


def refused(cluster: KubeCluster, namespace: str) -> str:
    """The API server's refusal of the non-compliant pod in `namespace`."""
    with pytest.raises(KubectlError) as error:
        cluster.kubectl("apply", "-n", namespace, "-f", "-", input=NON_COMPLIANT_POD)
    return str(error.value)


def test_forge_setup_labels_an_existing_namespace_to_enforce_restricted(kube_cluster: KubeCluster,
                                                                          kube_namespace: str,
                                                                          forge_cluster: kube.Cluster) -> None:
    kube_cluster.kubectl("label", "namespace", kube_namespace, "pod-security.kubernetes.io/enforce=privileged",
                         "team=shop")
    assert podsecurity.restrict(forge_cluster, kube_namespace, "enforce") == \
        f"namespace {kube_namespace}: labelled, enforcing Pod Security restricted"
    labels = kube_cluster.kubectl_json("get", "namespace", kube_namespace)["metadata"]["labels"]
    assert {k: labels[k] for k in podsecurity.ENFORCE} == podsecurity.ENFORCE
    assert labels["team"] == "shop"  # other labels stay
    assert 'violates PodSecurity "restricted:latest"' in refused(kube_cluster, kube_namespace)
    assert podsecurity.restrict(forge_cluster, kube_namespace, "enforce") == \
        f"namespace {kube_namespace}: enforcing Pod Security restricted"  # nothing to change the second time


def test_forge_setup_creates_a_missing_namespace_enforcing_restricted(kube_cluster: KubeCluster,
                                                                        forge_cluster: kube.Cluster) -> None:
    namespace = f"t-setup-{uuid.uuid4().hex[:6]}"
    try:
        assert podsecurity.restrict(forge_cluster, namespace, "enforce") == \
            f"namespace {namespace}: created, enforcing Pod Security restricted"
        kube_cluster.wait_for(f"ServiceAccount default in namespace {namespace}", lambda: kube_cluster.kubectl(
            "get", "serviceaccount", "default", "-n", namespace, check=False).returncode == 0, timeout=30)
        assert 'violates PodSecurity "restricted:latest"' in refused(kube_cluster, namespace)
    finally:
        kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_warn_mode_admits_a_non_compliant_pod_and_says_what_it_lacks(kube_cluster: KubeCluster,
                                                                      kube_namespace: str,
                                                                      forge_cluster: kube.Cluster) -> None:
    """`forge setup --pod-security warn`: a bare `kubectl run`-style pod still starts, and kubectl tells the
    participant what it lacks."""
    assert podsecurity.restrict(forge_cluster, kube_namespace, "warn") == \
        f"namespace {kube_namespace}: labelled, warning about Pod Security restricted"
    labels = kube_cluster.kubectl_json("get", "namespace", kube_namespace)["metadata"]["labels"]
    assert "pod-security.kubernetes.io/enforce" not in labels
    applied = kube_cluster.kubectl("apply", "-n", kube_namespace, "-f", "-", input=NON_COMPLIANT_POD)
    assert 'Warning: would violate PodSecurity "restricted:latest"' in applied.stderr
    assert kube_cluster.kubectl("get", "pod", "careless", "-n", kube_namespace, check=False).returncode == 0


def test_forge_setup_labels_the_namespace_it_deploys_to(kube_cluster: KubeCluster, kube_namespace: str,
                                                        registry: Any, docker_client: Any, tmp_path: Path) -> None:
    """The command itself, with its real checks (Docker engine, this cluster, a registry push): `warn` first,
    then the default, which enforces."""
    env = {"KUBECONFIG": str(kube_cluster.kubeconfig)}
    for flags, done in ((["--pod-security", "warn"], "labelled, warning about"), ([], "labelled, enforcing")):
        result = forge("setup", str(tmp_path), "--registry", registry.host, "-n", kube_namespace, *flags, "--yes",
                       env=env, process=True, timeout=120).ok()
        assert f"namespace {kube_namespace}: {done} Pod Security restricted" in result.stdout
    assert 'violates PodSecurity "restricted:latest"' in refused(kube_cluster, kube_namespace)
