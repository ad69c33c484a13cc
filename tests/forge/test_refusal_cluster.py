"""A Deployment's quota refusal on the local control plane (tests/cluster: the real ResourceQuota admission, the
ReplicaSet and Deployment controllers, kwok's pods): forge's waiter fails at once on a refusal of this rollout,
and waits out the one still in the Deployment's status once the quota has room again (the controllers keep that
condition until the ReplicaSet's next try, seconds to minutes later). The fakes' twin: test_refusal.py."""

from __future__ import annotations

import io
import time

import pytest

from forge.cluster import kube
from forge.cluster.refusal import in_words
from forge.cluster.wait import Waiter
from forge.errors import ForgeError
from forge.output import Output
from tests.cluster import KubeCluster

pytestmark = pytest.mark.cluster

BACKOFF = 8  # seconds the refusal lasts before the quota is raised: the ReplicaSet's retries are seconds apart


def apply_as_forge(cluster: kube.Cluster, replicas: int) -> None:
    """The Deployment, applied as forge deploy applies it (server-side, forge's field manager), in process: the
    waiter's first read follows at once, as in forge deploy."""
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "qotm", "namespace": cluster.namespace},
                  "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "qotm"}},
                           "template": {"metadata": {"labels": {"app": "qotm"}},
                                        "spec": {"containers": [{"name": "qotm", "image": "shopbox/qotm:1.0"}]}}}}
    cluster.apply(cluster.resource("apps/v1", "Deployment").path(cluster.namespace, "qotm"), deployment)


def test_a_quota_refusal_fails_the_rollout_at_once_and_an_earlier_one_is_waited_out(
        kube_cluster: KubeCluster, kube_namespace: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ns = kube_namespace
    kube_cluster.kubectl("create", "quota", "seat", "-n", ns, "--hard=pods=2")
    kube_cluster.kubectl("run", "fill", "-n", ns, "--image=shopbox/qotm:1.0", "--restart=Never")
    monkeypatch.setenv("KUBECONFIG", str(kube_cluster.kubeconfig))
    cluster = kube.connect(namespace=ns)
    waiter = Waiter(cluster, Output(stdout=io.StringIO(), stderr=io.StringIO()), poll=0.5)
    ref = kube.ObjectRef("apps/v1", "Deployment", ns, "qotm")

    apply_as_forge(cluster, 2)  # one pod fits beside `fill`, the second is refused
    started = time.monotonic()
    with pytest.raises(ForgeError) as caught:
        waiter.wait([ref], 60)
    refused_after = time.monotonic() - started
    message = ('pods "x" is forbidden: exceeded quota: seat, requested: pods=1, used: pods=2, limited: pods=2')
    assert str(caught.value).startswith(f"Deployment/qotm failed: {in_words(message, ns)} (free some of it")
    assert refused_after < 30, refused_after  # at once, not at the timeout

    # The quota raised while the refusal lasts: the ReplicaSet's next try, after its backoff (grown to seconds by
    # now), will pass; until then the Deployment's status still holds the refusal. The same deploy again (forge
    # deploy with nothing changed: its apply changes nothing, not even its time) waits for the pods.
    time.sleep(BACKOFF)
    kube_cluster.kubectl("patch", "resourcequota", "seat", "-n", ns, "--type=merge", "-p",
                         '{"spec": {"hard": {"pods": "3"}}}')
    conditions = kube_cluster.kubectl_json("get", "deployment", "qotm", "-n", ns)["status"].get("conditions", [])
    assert [c for c in conditions if c["type"] == "ReplicaFailure"], conditions  # still there: the case at hand
    started = time.monotonic()
    apply_as_forge(cluster, 2)
    waiter.wait([ref], 120)
    deployment = kube_cluster.kubectl_json("get", "deployment", "qotm", "-n", ns)
    assert deployment["status"].get("availableReplicas") == 2, deployment["status"]
    print(f"refused at once in {refused_after:.1f} s; the same deploy after the quota was raised rolled out in "
          f"{time.monotonic() - started:.1f} s")
