"""The workshop's kubectl steps, run for real against the local control plane (tests/cluster):
run a pod, apply a Deployment, scale it, expose it as a NodePort Service, delete it; and the
simulated failures (shopbox.test/fail) that the troubleshooting steps rely on."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from tests.cluster import KubeCluster, KubectlError

pytestmark = pytest.mark.cluster

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}{annotations}
    spec:
      containers:
      - name: web
        image: {image}
        ports:
        - containerPort: 8080
"""


def deployment(name: str, replicas: int = 2, image: str = "shopbox/qotm:1.0", fail: str | None = None) -> str:
    # The failure convention of tests/cluster (kwok.yaml): an annotation on the pod template.
    annotations = f"\n      annotations:\n        shopbox.test/fail: {fail}" if fail else ""
    return DEPLOYMENT.format(name=name, replicas=replicas, image=image, annotations=annotations)


def pods(cluster: KubeCluster, ns: str, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cluster.kubectl_json("get", "pods", "-n", ns, "-l", selector)["items"]
    return items


def is_running_and_ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status", {})
    conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
    containers = status.get("containerStatuses", [])
    return (
        status.get("phase") == "Running"
        and conditions.get("Ready") == "True"
        and bool(status.get("podIP"))
        and bool(containers)
        and all(c["ready"] and "running" in c["state"] for c in containers)
    )


def ready_pods(cluster: KubeCluster, ns: str, selector: str) -> list[dict[str, Any]]:
    return [p for p in pods(cluster, ns, selector) if is_running_and_ready(p)]


def test_node_is_ready(kube_cluster: KubeCluster) -> None:
    nodes = kube_cluster.kubectl_json("get", "nodes")["items"]
    assert len(nodes) >= 1
    ready = [n for n in nodes if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])]
    assert ready, f"no Ready node: {[n['metadata']['name'] for n in nodes]}"
    out = kube_cluster.kubectl("get", "nodes").stdout
    assert " Ready " in out


def test_run_pod_becomes_running(kube_cluster: KubeCluster, kube_namespace: str) -> None:
    ns = kube_namespace
    kube_cluster.kubectl("run", "hello", "--image=shopbox/qotm:1.0", "--port=8080", "-n", ns)
    kube_cluster.kubectl("wait", "--for=condition=Ready", "pod/hello", "-n", ns, "--timeout=60s")

    pod = kube_cluster.kubectl_json("get", "pod", "hello", "-n", ns)
    assert is_running_and_ready(pod), pod["status"]
    assert pod["spec"]["nodeName"], "the scheduler did not bind the pod"
    assert pod["spec"]["serviceAccountName"] == "default"
    ipaddress.ip_address(pod["status"]["podIP"])

    table = kube_cluster.kubectl("get", "pods", "-n", ns).stdout
    line = next(ln for ln in table.splitlines() if ln.startswith("hello "))
    assert line.split()[1:3] == ["1/1", "Running"], table

    kube_cluster.kubectl("delete", "pod", "hello", "-n", ns, "--timeout=60s")
    assert kube_cluster.kubectl_json("get", "pods", "-n", ns)["items"] == []


def test_deployment_apply_scale_expose_delete(kube_cluster: KubeCluster, kube_namespace: str) -> None:
    ns = kube_namespace
    applied = kube_cluster.kubectl("apply", "-n", ns, "-f", "-", input=deployment("shop", replicas=2))
    assert "deployment.apps/shop created" in applied.stdout

    kube_cluster.kubectl("rollout", "status", "deployment/shop", "-n", ns, "--timeout=60s")
    dep = kube_cluster.kubectl_json("get", "deployment", "shop", "-n", ns)
    assert dep["status"]["readyReplicas"] == 2
    assert len(ready_pods(kube_cluster, ns, "app=shop")) == 2
    replicasets = kube_cluster.kubectl_json("get", "replicasets", "-n", ns, "-l", "app=shop")["items"]
    assert len(replicasets) == 1
    assert replicasets[0]["metadata"]["ownerReferences"][0]["name"] == "shop"

    # Applying the same manifest again changes nothing.
    again = kube_cluster.kubectl("apply", "-n", ns, "-f", "-", input=deployment("shop", replicas=2))
    assert "deployment.apps/shop unchanged" in again.stdout

    kube_cluster.kubectl("scale", "deployment/shop", "--replicas=3", "-n", ns)
    kube_cluster.kubectl("rollout", "status", "deployment/shop", "-n", ns, "--timeout=60s")
    kube_cluster.wait_for("3 ready pods", lambda: len(ready_pods(kube_cluster, ns, "app=shop")) == 3)
    dep = kube_cluster.kubectl_json("get", "deployment", "shop", "-n", ns)
    assert dep["status"]["readyReplicas"] == 3
    assert dep["status"]["availableReplicas"] == 3

    kube_cluster.kubectl("expose", "deployment", "shop", "--type=NodePort", "--port=80", "--target-port=8080", "-n", ns)
    svc = kube_cluster.kubectl_json("get", "service", "shop", "-n", ns)
    assert svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["selector"] == {"app": "shop"}
    (port,) = svc["spec"]["ports"]
    assert port["port"] == 80
    assert port["targetPort"] == 8080
    assert 30000 <= port["nodePort"] <= 32767
    assert ipaddress.ip_address(svc["spec"]["clusterIP"]) in ipaddress.ip_network("10.96.0.0/16")

    # The endpointslice controller publishes the three ready pods behind the Service.
    def endpoints() -> int:
        slices = kube_cluster.kubectl_json("get", "endpointslices", "-n", ns, "-l", "kubernetes.io/service-name=shop")[
            "items"
        ]
        return sum(1 for s in slices for e in s.get("endpoints") or [] if e.get("conditions", {}).get("ready"))

    kube_cluster.wait_for("3 ready endpoints for service shop", lambda: endpoints() == 3)

    kube_cluster.kubectl("delete", "service", "shop", "-n", ns)
    kube_cluster.kubectl("delete", "deployment", "shop", "-n", ns)
    kube_cluster.wait_for("the Deployment's pods to be gone", lambda: pods(kube_cluster, ns, "app=shop") == [])
    with pytest.raises(KubectlError, match="NotFound"):
        kube_cluster.kubectl("get", "deployment", "shop", "-n", ns)


def container_status(cluster: KubeCluster, ns: str, selector: str) -> dict[str, Any] | None:
    for pod in pods(cluster, ns, selector):
        statuses = pod.get("status", {}).get("containerStatuses") or []
        if statuses:
            status: dict[str, Any] = statuses[0]
            return status
    return None


def test_image_pull_failure(kube_cluster: KubeCluster, kube_namespace: str) -> None:
    ns = kube_namespace
    kube_cluster.kubectl("apply", "-n", ns, "-f", "-", input=deployment("broken", replicas=1, fail="image-pull"))

    def waiting_reason() -> str | None:
        status = container_status(kube_cluster, ns, "app=broken")
        return status["state"].get("waiting", {}).get("reason") if status else None

    first = kube_cluster.wait_for("a waiting container", waiting_reason)
    assert first in ("ErrImagePull", "ImagePullBackOff")
    kube_cluster.wait_for("ImagePullBackOff", lambda: waiting_reason() == "ImagePullBackOff")

    (pod,) = pods(kube_cluster, ns, "app=broken")
    assert pod["status"]["phase"] == "Pending"
    assert not is_running_and_ready(pod)
    table = kube_cluster.kubectl("get", "pods", "-n", ns, "-l", "app=broken").stdout
    assert "ImagePullBackOff" in table and "0/1" in table, table

    # The workshop's troubleshooting step: the rollout never completes.
    with pytest.raises(KubectlError):
        kube_cluster.kubectl("rollout", "status", "deployment/broken", "-n", ns, "--timeout=3s")
    dep = kube_cluster.kubectl_json("get", "deployment", "broken", "-n", ns)
    assert not dep["status"].get("readyReplicas")


def test_crash_loop(kube_cluster: KubeCluster, kube_namespace: str) -> None:
    ns = kube_namespace
    kube_cluster.kubectl("apply", "-n", ns, "-f", "-", input=deployment("crashy", replicas=1, fail="crash"))

    def crash_status() -> dict[str, Any] | None:
        status = container_status(kube_cluster, ns, "app=crashy")
        if status and status["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff":
            return status
        return None

    first = kube_cluster.wait_for("CrashLoopBackOff", crash_status)
    assert first["ready"] is False
    assert first["lastState"]["terminated"]["exitCode"] == 1
    assert first["restartCount"] >= 1
    later = kube_cluster.wait_for(
        "restartCount to go up",
        lambda: (s := crash_status()) and s["restartCount"] > first["restartCount"] and s,
        timeout=20,
    )
    assert later["lastState"]["terminated"]["exitCode"] == 1

    table = kube_cluster.kubectl("get", "pods", "-n", ns, "-l", "app=crashy").stdout
    assert "CrashLoopBackOff" in table and "0/1" in table, table
    dep = kube_cluster.kubectl_json("get", "deployment", "crashy", "-n", ns)
    assert not dep["status"].get("readyReplicas")


def test_healthy_and_failing_pods_side_by_side(kube_cluster: KubeCluster, kube_namespace: str) -> None:
    """The failure annotation affects only the pods that carry it; unknown values are ignored."""
    ns = kube_namespace
    kube_cluster.kubectl("apply", "-n", ns, "-f", "-", input=deployment("good", replicas=1))
    kube_cluster.kubectl("apply", "-n", ns, "-f", "-", input=deployment("odd", replicas=1, fail="no-such-mode"))
    kube_cluster.kubectl("apply", "-n", ns, "-f", "-", input=deployment("bad", replicas=1, fail="crash"))
    kube_cluster.kubectl("rollout", "status", "deployment/good", "-n", ns, "--timeout=60s")
    kube_cluster.kubectl("rollout", "status", "deployment/odd", "-n", ns, "--timeout=60s")
    kube_cluster.wait_for(
        "the bad pod to crash-loop",
        lambda: (
            (s := container_status(kube_cluster, ns, "app=bad"))
            and s["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff"
        ),
    )
    assert len(ready_pods(kube_cluster, ns, "app=good")) == 1
    assert len(ready_pods(kube_cluster, ns, "app=odd")) == 1
    assert ready_pods(kube_cluster, ns, "app=bad") == []
