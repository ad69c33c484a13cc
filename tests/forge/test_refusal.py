"""Pods the API server refuses to create (forge.cluster.refusal), from a Deployment's condition and a StatefulSet's
events as the real controllers write them. The real quota: tests/classroom/test_class_cluster.py."""

from __future__ import annotations

from typing import Any

import pytest

from forge.cluster.kube import ObjectRef
from forge.cluster.refusal import in_words, refusal
from tests.forge.fakes import FakeAPIServer

pytestmark = pytest.mark.unit

NS = "room-ana"
QUOTA_MESSAGE = ('pods "qotm-7c9d8b5f4-x2x7k" is forbidden: exceeded quota: seat, requested: requests.cpu=500m, '
                 "used: requests.cpu=1200m, limited: requests.cpu=1500m")


def test_a_quota_refusal_names_the_quota_and_the_namespace() -> None:
    assert in_words(QUOTA_MESSAGE, NS) == (
        "its pods are refused by ResourceQuota seat of namespace room-ana: requested requests.cpu=500m, used "
        "requests.cpu=1200m, limited requests.cpu=1500m")


@pytest.mark.parametrize(("message", "words"), [
    ('pods "big-0" is forbidden: maximum cpu usage per Container is 2, but limit is 3',
     "its pods are refused: maximum cpu usage per Container is 2, but limit is 3"),
    ('pods "p-1" is forbidden: violates PodSecurity "restricted:latest": privileged',
     'its pods are refused: violates PodSecurity "restricted:latest": privileged'),
])
def test_other_refusals_keep_the_api_servers_words(message: str, words: str) -> None:
    assert in_words(message, NS) == words


def deployment(replicas: int, updated: int, conditions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"spec": {"replicas": 2}, "status": {"replicas": replicas, "updatedReplicas": updated,
                                                "conditions": conditions}}


FAILED_CREATE = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": QUOTA_MESSAGE}


def test_a_deployment_refusal_lasts_unless_old_pods_are_still_going_away() -> None:
    cluster = FakeAPIServer(namespaces=(NS,)).connect()
    ref = ObjectRef("apps/v1", "Deployment", NS, "qotm")
    assert refusal(cluster, ref, deployment(1, 1, [FAILED_CREATE])) == (in_words(QUOTA_MESSAGE, NS), True)
    assert refusal(cluster, ref, deployment(3, 1, [FAILED_CREATE]))[1] is False  # a surge pod waits for quota back
    assert refusal(cluster, ref, deployment(1, 1, [{"type": "Progressing", "status": "True"}])) is None


def event(name: str, at: str, message: str = QUOTA_MESSAGE) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": NS},
            "involvedObject": {"kind": "StatefulSet", "name": "postgres", "namespace": NS},
            "reason": "FailedCreate", "lastTimestamp": at,
            "message": f"create Pod postgres-0 in StatefulSet postgres failed error: {message}"}


def test_a_statefulset_refusal_comes_from_its_events_since_the_last_apply() -> None:
    api = FakeAPIServer(namespaces=(NS,))
    cluster = api.connect()
    ref = ObjectRef("apps/v1", "StatefulSet", NS, "postgres")
    sts = {"metadata": {"managedFields": [{"manager": "forge", "time": "2030-05-04T10:00:00Z"}]},
           "spec": {"replicas": 1}, "status": {"replicas": 0}}
    api.put(f"/api/v1/namespaces/{NS}/events/old", event("old", "2030-05-04T09:00:00Z", "an earlier refusal"))
    assert refusal(cluster, ref, sts) is None  # before the apply: about an earlier spec
    api.put(f"/api/v1/namespaces/{NS}/events/new", event("new", "2030-05-04T10:00:01Z"))
    assert refusal(cluster, ref, sts) == (in_words(QUOTA_MESSAGE, NS), True)
    assert refusal(cluster, ref, {**sts, "status": {"replicas": 1}}) is None  # its pod exists
