"""Pods the API server refuses to create (forge.cluster.refusal), from a Deployment's condition and a StatefulSet's
events as the real controllers write them. The real quota: tests/classroom/test_class_cluster.py."""

from __future__ import annotations

import io
from typing import Any

import pytest

from forge.cluster.kube import ObjectRef
from forge.cluster.refusal import in_words, refusal
from forge.cluster.wait import Waiter
from forge.errors import ForgeError
from forge.output import Output
from tests.forge.fakes import FakeAPIServer

pytestmark = pytest.mark.unit

NS = "room-ana"
QUOTA_MESSAGE = ('pods "qotm-7c9d8b5f4-x2x7k" is forbidden: exceeded quota: seat, requested: requests.cpu=500m, '
                 "used: requests.cpu=1200m, limited: requests.cpu=1600m")


def test_a_quota_refusal_names_the_quota_and_the_namespace() -> None:
    assert in_words(QUOTA_MESSAGE, NS) == (
        "its pods are refused by ResourceQuota seat of namespace room-ana: requested requests.cpu=500m, used "
        "requests.cpu=1200m, limited requests.cpu=1600m")


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


def test_a_deployment_refusal_lasts_unless_old_pods_are_still_going_away_or_all_pods_exist() -> None:
    cluster = FakeAPIServer(namespaces=(NS,)).connect()
    ref = ObjectRef("apps/v1", "Deployment", NS, "qotm")
    assert refusal(cluster, ref, deployment(1, 1, [FAILED_CREATE])) == (in_words(QUOTA_MESSAGE, NS), True)
    assert refusal(cluster, ref, deployment(3, 1, [FAILED_CREATE]))[1] is False  # a surge pod waits for quota back
    # A retry passed: both pods exist, and the quota is full of them until the condition is cleared.
    assert refusal(cluster, ref, deployment(1, 1, [FAILED_CREATE]), created=2)[1] is False
    assert refusal(cluster, ref, deployment(1, 1, [FAILED_CREATE]), created=1)[1] is True
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


# -- a Deployment's refusal from before this rollout (the condition outlives its cause) -------------------------

APPLIED = "2030-05-04T10:00:05Z"  # forge's apply of this deploy (its managedFields entry)
EARLIER = "2030-05-04T09:58:00Z"  # a refusal of an earlier deploy
QUOTA_PATH = f"/api/v1/namespaces/{NS}/resourcequotas/seat"
DEPLOYMENT_PATH = f"/apis/apps/v1/namespaces/{NS}/deployments/qotm"


def rolling(generation: int, observed: int, refused_at: str | None, *, replicas: int = 1,
            available: int = 0) -> dict[str, Any]:
    """The Deployment as the controllers leave it at one poll; `refused_at`: its ReplicaFailure's time (None: none)."""
    conditions = [] if refused_at is None else [{**FAILED_CREATE, "lastUpdateTime": refused_at,
                                                  "lastTransitionTime": refused_at}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "qotm", "namespace": NS, "uid": "qotm-uid", "generation": generation,
                         "managedFields": [
                             {"manager": "forge", "operation": "Apply", "time": APPLIED},
                             {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
                              "time": "2030-05-04T10:00:09Z"}]},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "qotm"}}},
            "status": {"observedGeneration": observed, "replicas": replicas, "updatedReplicas": replicas,
                       "availableReplicas": available, "conditions": conditions}}


class Controllers:
    """A FakeCluster whose Deployment moves through `states`, one per read of it (the controllers between polls)."""

    def __init__(self, api: FakeAPIServer, states: list[dict[str, Any]]) -> None:
        self.api, self.cluster, self.states, self.reads = api, api.connect(namespace=NS), states, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cluster, name)

    def get(self, path: str) -> dict[str, Any] | None:
        if path == DEPLOYMENT_PATH:
            self.api.put(path, self.states[min(self.reads, len(self.states) - 1)])
            self.reads += 1
        return self.cluster.get(path)


def seat_quota(used_cpu: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "seat", "namespace": NS},
            "status": {"hard": {"requests.cpu": "1600m"}, "used": {"requests.cpu": used_cpu}}}


def wait_for(api: FakeAPIServer, states: list[dict[str, Any]]) -> tuple[Controllers, list[str]]:
    lines = io.StringIO()
    cluster = Controllers(api, states)
    Waiter(cluster, Output(stdout=lines, stderr=lines), poll=0.01).wait(  # type: ignore[arg-type]
        [ObjectRef("apps/v1", "Deployment", NS, "qotm")], 5)
    return cluster, lines.getvalue().splitlines()


def test_an_earlier_deploys_refusal_is_waited_out_until_the_pods_come() -> None:
    """As in the class test: the quota freed, a deploy that scales back; the old condition stays until the
    ReplicaSet and then the Deployment controller catch up. The quota cannot be read (no room to be seen)."""
    api = FakeAPIServer(namespaces=(NS,))
    cluster, lines = wait_for(api, [rolling(3, 2, EARLIER, replicas=3, available=1),
                                    rolling(3, 3, EARLIER), rolling(3, 3, EARLIER), rolling(3, 3, None, available=1)])
    assert cluster.reads == 4
    assert lines[-1] == "  Deployment/qotm rolled out (1 of 1 replicas available)"


def test_a_refusal_newer_than_the_apply_is_waited_out_when_the_quota_has_room_now() -> None:
    """A deploy that changed nothing (its apply time is the earlier deploy's): the quota tells."""
    api = FakeAPIServer(namespaces=(NS,))
    api.put(QUOTA_PATH, seat_quota("1000m"))  # the refusal asked for 500m of 1600m: it fits now
    later = "2030-05-04T10:00:07Z"
    cluster, lines = wait_for(api, [rolling(3, 3, later), rolling(3, 3, later), rolling(3, 3, None, available=1)])
    assert cluster.reads == 3 and lines[-1].endswith("rolled out (1 of 1 replicas available)")


@pytest.mark.parametrize("refused_at", [APPLIED, "2030-05-04T10:00:06Z"])
def test_a_refusal_of_this_rollout_fails_at_once_naming_the_quota_and_the_namespace(refused_at: str) -> None:
    api = FakeAPIServer(namespaces=(NS,))
    api.put(QUOTA_PATH, seat_quota("1200m"))  # still no room for 500m
    with pytest.raises(ForgeError) as caught:
        wait_for(api, [rolling(3, 2, EARLIER, replicas=3), rolling(3, 3, refused_at),
                       rolling(3, 3, None, available=1)])
    assert str(caught.value) == (
        f"Deployment/qotm failed: {in_words(QUOTA_MESSAGE, NS)} (free some of it (forge list; forge delete a "
        "deployment you no longer need), or ask whoever runs the cluster for more; kubectl describe resourcequota "
        "shows it)")


def test_an_earlier_refusal_that_persists_after_the_apply_fails() -> None:
    """The condition keeps its first time while the ReplicaSet retries; its FailedCreate events say it persists."""
    api = FakeAPIServer(namespaces=(NS,))
    api.put(f"/apis/apps/v1/namespaces/{NS}/replicasets/qotm-7c9d8b5f4", {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "qotm-7c9d8b5f4", "namespace": NS, "ownerReferences": [{"uid": "qotm-uid"}]}})
    retried = {**event("retried", "2030-05-04T10:00:06Z", f"Error creating: {QUOTA_MESSAGE}"),
               "involvedObject": {"kind": "ReplicaSet", "name": "qotm-7c9d8b5f4", "namespace": NS}}
    api.put(f"/api/v1/namespaces/{NS}/events/retried", retried)
    with pytest.raises(ForgeError, match=r"^Deployment/qotm failed: its pods are refused by ResourceQuota seat"):
        wait_for(api, [rolling(3, 3, EARLIER), rolling(3, 3, None, available=1)])


def test_a_refusal_whose_retry_passed_is_waited_out_though_its_pods_fill_the_quota() -> None:
    """The ReplicaSet's retry created the pod after the quota was raised; the Deployment still shows the refusal
    for a moment, and the quota, full of the new pod, has no room: the pods that exist tell."""
    api = FakeAPIServer(namespaces=(NS,))
    api.put(QUOTA_PATH, seat_quota("1600m"))
    api.put(f"/apis/apps/v1/namespaces/{NS}/replicasets/qotm-7c9d8b5f4", {
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
            "name": "qotm-7c9d8b5f4", "namespace": NS, "uid": "rs-uid", "labels": {"app": "qotm"},
            "ownerReferences": [{"uid": "qotm-uid"}]}})
    api.put(f"/api/v1/namespaces/{NS}/pods/qotm-7c9d8b5f4-x2x7k", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "qotm-7c9d8b5f4-x2x7k", "namespace": NS, "labels": {"app": "qotm"},
            "ownerReferences": [{"uid": "rs-uid"}]}, "status": {"phase": "Pending"}})
    later = "2030-05-04T10:00:07Z"
    cluster, lines = wait_for(api, [rolling(3, 3, later), rolling(3, 3, None, available=1)])
    assert cluster.reads == 2 and lines[-1].endswith("rolled out (1 of 1 replicas available)")
