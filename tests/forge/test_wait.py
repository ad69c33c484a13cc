"""Rollout decisions and plain-words pod reasons (forge.cluster.wait), on API objects as the server returns them."""

from __future__ import annotations

from typing import Any

import pytest

from forge.cluster.wait import PodProblem, pod_problems, rollout_status, selector_string
from forge.errors import ForgeError

pytestmark = pytest.mark.unit


def deployment(want: int = 2, generation: int = 2, observed: int = 2, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "qotm", "generation": generation},
        "spec": {"replicas": want},
        "status": {"observedGeneration": observed, **status},
    }


def pod(*, containers: list[dict[str, Any]] | None = None, conditions: list[dict[str, Any]] | None = None,
        statuses: list[dict[str, Any]] | None = None, phase: str = "Pending") -> dict[str, Any]:
    return {
        "metadata": {"name": "qotm-5d9c-abcde"},
        "spec": {"containers": containers or [{"name": "qotm", "image": "127.0.0.1:5000/qotm:0123456789abcdef"}]},
        "status": {"phase": phase, "conditions": conditions or [], "containerStatuses": statuses or []},
    }


def waiting(reason: str, restarts: int = 0, message: str = "") -> dict[str, Any]:
    return {"name": "qotm", "image": "ignored", "ready": False, "restartCount": restarts,
            "state": {"waiting": {"reason": reason, "message": message}}}


def no_logs(pod: str, container: str) -> str:
    raise ForgeError("the node's kubelet did not answer: connection refused")


def test_deployment_not_observed_yet_is_not_done():
    status = rollout_status("Deployment", deployment(generation=3, observed=2, updatedReplicas=2,
                                                     replicas=2, availableReplicas=2))
    assert not status.done
    assert "controller" in status.progress


@pytest.mark.parametrize(
    ("fields", "done", "progress"),
    [
        ({"updatedReplicas": 1, "replicas": 2, "availableReplicas": 2}, False, "1 of 2 replicas updated"),
        ({"updatedReplicas": 2, "replicas": 3, "availableReplicas": 2}, False, "1 old replicas pending termination"),
        ({"updatedReplicas": 2, "replicas": 2, "availableReplicas": 1}, False, "1 of 2 updated replicas available"),
        ({"updatedReplicas": 2, "replicas": 2, "availableReplicas": 2}, True, "2 of 2 replicas available"),
    ],
)
def test_deployment_rollout_steps(fields, done, progress):
    status = rollout_status("Deployment", deployment(**fields))
    assert (status.done, status.progress, status.failure) == (done, progress, None)


def test_progress_deadline_exceeded_is_a_failure():
    obj = deployment(updatedReplicas=1, replicas=2, conditions=[
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
         "message": 'ReplicaSet "qotm-5d9c" has timed out progressing.'},
    ])
    status = rollout_status("Deployment", obj)
    assert not status.done
    assert status.failure == 'progress deadline exceeded (ReplicaSet "qotm-5d9c" has timed out progressing)'


def test_statefulset_waits_for_ready_and_revision():
    base = {"metadata": {"generation": 1}, "spec": {"replicas": 2}}
    not_ready = {**base, "status": {"observedGeneration": 1, "readyReplicas": 1}}
    old_revision = {**base, "status": {"observedGeneration": 1, "readyReplicas": 2, "updatedReplicas": 1,
                                       "currentRevision": "db-1", "updateRevision": "db-2"}}
    done = {**base, "status": {"observedGeneration": 1, "readyReplicas": 2, "currentRevision": "db-2",
                               "updateRevision": "db-2"}}
    assert rollout_status("StatefulSet", not_ready).progress == "1 of 2 replicas ready"
    assert rollout_status("StatefulSet", old_revision).progress == "1 of 2 replicas updated"
    assert rollout_status("StatefulSet", done).done


def test_daemonset_waits_for_updated_and_available():
    base = {"metadata": {"generation": 4}, "spec": {}}
    partial = {**base, "status": {"observedGeneration": 4, "desiredNumberScheduled": 3,
                                  "updatedNumberScheduled": 3, "numberAvailable": 2}}
    done = {**base, "status": {"observedGeneration": 4, "desiredNumberScheduled": 3,
                               "updatedNumberScheduled": 3, "numberAvailable": 3}}
    assert rollout_status("DaemonSet", partial).progress == "2 of 3 updated pods available"
    assert rollout_status("DaemonSet", done).done


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff"])
def test_image_pull_names_the_image_from_the_pod_spec(reason):
    problems = pod_problems(pod(statuses=[waiting(reason)]), no_logs)
    assert [str(p) for p in problems] == [
        f"pod qotm-5d9c-abcde: image cannot be pulled: 127.0.0.1:5000/qotm:0123456789abcdef ({reason})"
    ]
    # ErrImagePull may be a glitch the kubelet retries; the back-off means it failed again.
    assert problems[0].fatal == (reason == "ImagePullBackOff")


def test_crash_loop_shows_restarts_and_last_log_lines():
    lines = "\n".join(f"line {i}" for i in range(1, 9)) + "\n"
    seen = []

    def logs(pod_name: str, container: str) -> str:
        seen.append((pod_name, container))
        return lines

    [problem] = pod_problems(pod(statuses=[waiting("CrashLoopBackOff", restarts=4)], phase="Running"), logs)
    assert seen == [("qotm-5d9c-abcde", "qotm")]
    assert problem.reason.startswith("container qotm is crash looping (restarts 4); last log lines:")
    assert problem.reason.split("\n")[1:] == [f"      line {i}" for i in range(4, 9)]
    assert problem.fatal


def test_crash_loop_without_logs_says_why_and_is_not_fatal_after_one_restart():
    [problem] = pod_problems(pod(statuses=[waiting("CrashLoopBackOff", restarts=1)], phase="Running"), no_logs)
    assert problem == PodProblem(
        "qotm-5d9c-abcde",
        "container qotm is crash looping (restarts 1); last log lines unavailable "
        "(the node's kubelet did not answer: connection refused)",
        False,
    )


def test_unschedulable():
    conditions = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                   "message": "0/1 nodes are available: 1 Insufficient cpu."}]
    assert [str(p) for p in pod_problems(pod(conditions=conditions), no_logs)] == [
        "pod qotm-5d9c-abcde: unschedulable: 0/1 nodes are available: 1 Insufficient cpu"
    ]


def test_running_but_not_ready_and_plain_pending():
    running = {"name": "qotm", "ready": False, "restartCount": 0, "state": {"running": {}}}
    assert [p.reason for p in pod_problems(pod(statuses=[running], phase="Running"), no_logs)] == [
        "container qotm is running but not ready (readiness probe failing?)"
    ]
    assert [p.reason for p in pod_problems(pod(), no_logs)] == ["Pending, not ready yet"]


def test_a_ready_pod_has_no_problems():
    ready = pod(phase="Running", conditions=[{"type": "Ready", "status": "True"}],
                statuses=[{"name": "qotm", "ready": True, "restartCount": 0, "state": {"running": {}}}])
    assert pod_problems(ready, no_logs) == []


def test_config_error_is_reported_with_the_kubelet_message():
    status = waiting("CreateContainerConfigError", message='configmap "qotm-conf" not found')
    [problem] = pod_problems(pod(statuses=[status]), no_logs)
    assert problem.reason == 'container qotm cannot start: configmap "qotm-conf" not found'
    assert not problem.fatal


def test_selector_string():
    selector = {
        "matchLabels": {"app": "qotm", "tier": "web"},
        "matchExpressions": [
            {"key": "track", "operator": "In", "values": ["stable", "canary"]},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
            {"key": "owner", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    assert selector_string(selector) == "app=qotm,tier=web,track in (stable,canary),env notin (dev),owner,!legacy"
    assert selector_string({}) is None
