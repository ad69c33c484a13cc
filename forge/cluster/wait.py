"""Wait for Deployments, StatefulSets and DaemonSets to roll out; when they do not, say why per pod in plain words.

Rollout checks follow `kubectl rollout status`. forge stops early on failures that do not heal by waiting (an image
that cannot be pulled, a container that keeps crashing, a passed progress deadline, pods the API server refuses to
create: refusal.py) and otherwise at `timeout`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from forge.cluster import ClusterAPI
from forge.cluster.kube import ApiError, ObjectRef, label_selector
from forge.cluster.refusal import hint_for, refusal
from forge.errors import ForgeError
from forge.output import Output

Logs = Callable[[str, str], str]  # (pod, container) -> last log lines; raises ForgeError when unavailable
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
IMAGE_PULL = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
FATAL_WAITING = ("ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
CRASH_RESTARTS_FATAL = 2  # crashed, restarted and crashed again: not a slow start
LOG_LINES = 5


@dataclass
class Status:
    done: bool
    progress: str  # e.g. "1 of 2 updated replicas available"
    failure: str | None = None  # a reason that waiting will not fix


@dataclass
class PodProblem:
    pod: str
    reason: str
    fatal: bool

    def __str__(self) -> str:
        return f"pod {self.pod}: {self.reason}"


def is_workload(ref: ObjectRef) -> bool:
    return ref.kind in WORKLOAD_KINDS


def rollout_status(kind: str, obj: dict[str, Any]) -> Status:
    """Whether a workload has rolled out, as `kubectl rollout status` decides it."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation", 0)
    if generation > status.get("observedGeneration", 0):
        return Status(False, "waiting for the controller to see the new spec")
    if kind == "Deployment":
        return _deployment_status(spec, status)
    if kind == "StatefulSet":
        return _statefulset_status(spec, status)
    if kind == "DaemonSet":
        return _daemonset_status(spec, status)
    raise ValueError(f"not a workload kind: {kind}")


def _deployment_status(spec: dict[str, Any], status: dict[str, Any]) -> Status:
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return Status(False, "stalled", f"progress deadline exceeded ({cond.get('message', '').rstrip('.')})")
    want = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    if updated < want:
        return Status(False, f"{updated} of {want} replicas updated")
    if status.get("replicas", 0) > updated:
        return Status(False, f"{status.get('replicas', 0) - updated} old replicas pending termination")
    available = status.get("availableReplicas", 0)
    if available < updated:
        return Status(False, f"{available} of {updated} updated replicas available")
    return Status(True, f"{available} of {want} replicas available")


def _statefulset_status(spec: dict[str, Any], status: dict[str, Any]) -> Status:
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return Status(True, "updateStrategy OnDelete: not waiting for pods")
    want = spec.get("replicas", 1)
    ready = status.get("readyReplicas", 0)
    if ready < want:
        return Status(False, f"{ready} of {want} replicas ready")
    partition = (strategy.get("rollingUpdate") or {}).get("partition", 0)
    if partition:
        updated = status.get("updatedReplicas", 0)
        if updated < want - partition:
            return Status(False, f"{updated} of {want - partition} replicas updated (partition {partition})")
        return Status(True, f"partitioned rollout: {updated} new replicas")
    if status.get("updateRevision") != status.get("currentRevision"):
        return Status(False, f"{status.get('updatedReplicas', 0)} of {want} replicas updated")
    return Status(True, f"{ready} of {want} replicas ready")


def _daemonset_status(spec: dict[str, Any], status: dict[str, Any]) -> Status:
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return Status(True, "updateStrategy OnDelete: not waiting for pods")
    want = status.get("desiredNumberScheduled", 0)
    updated = status.get("updatedNumberScheduled", 0)
    if updated < want:
        return Status(False, f"{updated} of {want} pods updated")
    available = status.get("numberAvailable", 0)
    if available < want:
        return Status(False, f"{available} of {want} updated pods available")
    return Status(True, f"{available} of {want} pods available")


def pod_problems(pod: dict[str, Any], logs: Logs) -> list[PodProblem]:
    """What keeps one pod from being ready, in plain words (nothing for a ready pod)."""
    name = (pod.get("metadata") or {}).get("name", "?")
    status = pod.get("status") or {}
    problems = []
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            message = (cond.get("message") or cond.get("reason") or "").rstrip(".")
            problems.append(PodProblem(name, f"unschedulable: {message}", False))
    specs = {c.get("name"): c for c in (pod.get("spec") or {}).get("containers") or []}
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        problem = _container_problem(name, cs, specs.get(cs.get("name")) or {}, logs)
        if problem:
            problems.append(problem)
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    if not problems and not ready and not (pod.get("metadata") or {}).get("deletionTimestamp"):
        problems.append(PodProblem(name, f"{status.get('phase', 'Pending')}, not ready yet", False))
    return problems


def _container_problem(pod: str, cs: dict[str, Any], spec: dict[str, Any], logs: Logs) -> PodProblem | None:
    container = cs.get("name", "?")
    waiting = (cs.get("state") or {}).get("waiting")
    restarts = cs.get("restartCount", 0)
    if waiting:
        reason = waiting.get("reason", "")
        if reason in IMAGE_PULL:
            image = spec.get("image") or cs.get("image") or "?"
            return PodProblem(pod, f"image cannot be pulled: {image} ({reason})", reason in FATAL_WAITING)
        if reason == "CrashLoopBackOff":
            text = f"container {container} is crash looping (restarts {restarts}){_last_logs(logs, pod, cs)}"
            return PodProblem(pod, text, restarts >= CRASH_RESTARTS_FATAL)
        if reason in ("CreateContainerConfigError", "CreateContainerError", "RunContainerError"):
            return PodProblem(pod, f"container {container} cannot start: {waiting.get('message', reason)}", False)
        if reason and reason != "ContainerCreating" and reason != "PodInitializing":
            return PodProblem(pod, f"container {container} waiting: {reason} {waiting.get('message', '')}".strip(),
                              False)
        return None
    terminated = (cs.get("state") or {}).get("terminated")
    if terminated and terminated.get("exitCode", 0) != 0:
        code = terminated.get("exitCode")
        return PodProblem(pod, f"container {container} exited with code {code}{_last_logs(logs, pod, cs)}", False)
    if "running" in (cs.get("state") or {}) and not cs.get("ready"):
        return PodProblem(pod, f"container {container} is running but not ready (readiness probe failing?)", False)
    return None


def _last_logs(logs: Logs, pod: str, cs: dict[str, Any]) -> str:
    try:
        text = logs(pod, cs.get("name", ""))
    except ForgeError as exc:
        return f"; last log lines unavailable ({str(exc).splitlines()[0][:160]})"
    lines = [line for line in text.splitlines() if line.strip()][-LOG_LINES:]
    return "; last log lines:\n      " + "\n      ".join(lines) if lines else "; no log output"


def created(pods: Sequence[dict[str, Any]]) -> int:
    """How many of the pods exist and are not going away."""
    return sum(1 for pod in pods if not (pod.get("metadata") or {}).get("deletionTimestamp"))


class Waiter:
    """Polls the workloads of a deploy until all have rolled out, one fails, or the time is up."""

    def __init__(self, cluster: ClusterAPI, out: Output, *, poll: float = 1.0) -> None:
        self.cluster = cluster
        self.out = out
        self.poll = poll

    def wait(self, refs: Sequence[ObjectRef], timeout: float) -> None:
        pending = [r for r in refs if is_workload(r)]
        if not pending:
            return
        self.out.info(f"waiting up to {timeout:g} s for {', '.join(r.ident() for r in pending)} to roll out")
        deadline = time.monotonic() + timeout
        shown: dict[ObjectRef, str] = {}
        while True:
            for ref in list(pending):
                obj = self._get(ref)
                status = rollout_status(ref.kind, obj)
                if status.done:
                    self.out.info(f"  {ref.ident()} rolled out ({status.progress})")
                    pending.remove(ref)
                    continue
                problems, refused = self._troubles(ref, obj)
                fatal = status.failure or next((str(p) for p in problems if p.fatal), None)
                if refused and refused[1]:
                    fatal = fatal or refused[0]
                if fatal:
                    self._fail(ref, fatal, problems, "failed")
                if shown.get(ref) != status.progress:
                    shown[ref] = status.progress
                    self.out.info(f"  {ref.ident()}: {status.progress}")
            if not pending:
                return
            if time.monotonic() >= deadline:
                ref = pending[0]
                obj = self._get(ref)
                problems, refused = self._troubles(ref, obj)
                reason = (refused[0] if refused else str(problems[0]) if problems
                          else rollout_status(ref.kind, obj).progress)
                self._fail(ref, reason, problems, f"not rolled out after {timeout:g} s")
            time.sleep(self.poll)

    def _get(self, ref: ObjectRef) -> dict[str, Any]:
        path = self.cluster.resource(ref.api_version, ref.kind).path(ref.namespace, ref.name)
        obj = self.cluster.get(path)
        if obj is None:
            raise ForgeError(f"{ref.ident()}: deleted while forge was waiting for it to roll out")
        return obj

    def _fail(self, ref: ObjectRef, reason: str, problems: list[PodProblem], what: str) -> None:
        for problem in problems:
            self.out.info(f"  {problem}")
        others = f" (and {len(problems) - 1} more pod problems above)" if len(problems) > 1 else ""
        raise ForgeError(f"{ref.ident()} {what}: {reason.splitlines()[0]}{others}",
                         "\n".join(str(p) for p in problems) or None, hint=hint_for(reason))

    def _troubles(self, ref: ObjectRef, obj: dict[str, Any]) -> tuple[list[PodProblem], tuple[str, bool] | None]:
        """The problems of the rollout's pods, and the API server's refusal of the pods not created (refusal.py)."""
        pods = self.rollout_pods(ref, obj)
        return self.problems(ref.namespace, pods), refusal(self.cluster, ref, obj, created=created(pods))

    def rollout_pods(self, ref: ObjectRef, obj: dict[str, Any]) -> list[dict[str, Any]]:
        """The pods of the workload's current revision (none before the controller saw the new spec)."""
        if (obj.get("metadata") or {}).get("generation", 0) > (obj.get("status") or {}).get("observedGeneration", 0):
            return []
        return self.current_pods(ref, obj)

    def problems(self, namespace: str, pods: Sequence[dict[str, Any]]) -> list[PodProblem]:
        found = []
        for pod in pods:
            found.extend(pod_problems(pod, self._logs_for(namespace)))
        return found

    def _logs_for(self, namespace: str) -> Logs:
        def logs(pod: str, container: str) -> str:
            try:
                return self.cluster.pod_logs(namespace, pod, container, previous=True, tail=LOG_LINES)
            except ApiError as exc:
                text = str(exc)
                if "dial tcp" in text:  # the API server could not reach the node's kubelet
                    text = f"the node's kubelet did not answer: {text.rsplit(': ', 1)[-1]}"
                raise ForgeError(text) from None

        return logs

    def current_pods(self, ref: ObjectRef, obj: dict[str, Any]) -> list[dict[str, Any]]:
        selector = selector_string((obj.get("spec") or {}).get("selector") or {})
        if selector is None:
            return []
        pods = self.cluster.list(f"/api/v1/namespaces/{ref.namespace}/pods", selector)
        owners = {(obj.get("metadata") or {}).get("uid")}
        if ref.kind == "Deployment":
            owners = self._newest_replicaset_uids(ref, obj, selector)
        return [p for p in pods if owners & {o.get("uid") for o in p["metadata"].get("ownerReferences") or []}]

    def _newest_replicaset_uids(self, ref: ObjectRef, deployment: dict[str, Any], selector: str) -> set[str]:
        revision = ((deployment.get("metadata") or {}).get("annotations") or {}).get(
            "deployment.kubernetes.io/revision"
        )
        listing = self.cluster.list(f"/apis/apps/v1/namespaces/{ref.namespace}/replicasets", selector)
        uid = deployment["metadata"].get("uid")
        return {
            rs["metadata"]["uid"]
            for rs in listing
            if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences") or [])
            and (rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision") == revision
        }


def selector_string(selector: dict[str, Any]) -> str | None:
    """A LabelSelector as a query string; None for an empty selector (which would match every pod)."""
    parts = [label_selector(selector.get("matchLabels") or {})] if selector.get("matchLabels") else []
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts) or None
