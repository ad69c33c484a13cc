"""Why a workload's controller cannot create its pods: the API server refused them (a ResourceQuota, a LimitRange,
Pod Security), so no pod exists to explain the wait. A Deployment says it in its `ReplicaFailure` condition, a
StatefulSet only in its controller's `FailedCreate` events. In a classroom seat the quota is the usual cause, and
the one line names it and its namespace.

A refusal is fatal only when it is about this rollout. The ReplicaSet controller sets its `ReplicaFailure`
condition at the first refused create and leaves it (and its time) unchanged while it retries, with a backoff that
grows to minutes; the Deployment controller copies it, and keeps its copy until the ReplicaSet clears it. So after
the quota was freed, an earlier refusal can outlive its cause by minutes (kubernetes v1.36
pkg/controller/replicaset/replica_set_utils.go calculateStatus, pkg/controller/deployment/progress.go
getReplicaFailures, util.SetDeploymentCondition).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from forge.cluster import ClusterAPI
from forge.cluster.kube import ObjectRef
from forge.cluster.quota import has_room
from forge.errors import ForgeError
from forge.model import MANAGER

QUOTA = re.compile(r"exceeded quota: (?P<quota>[^,]+), requested: (?P<requested>.+?), used: (?P<used>.+?), "
                   r"limited: (?P<limited>.+?)\s*$")
QUOTA_HINT = ("free some of it (forge list; forge delete a deployment you no longer need), or ask whoever runs the "
              "cluster for more; kubectl describe resourcequota shows it")


def in_words(message: str, namespace: str) -> str:
    """A FailedCreate message in plain words: a quota by name and namespace, with what was asked and what is left."""
    found = QUOTA.search(message)
    if found:
        return (f"its pods are refused by ResourceQuota {found['quota']} of namespace {namespace}: requested "
                f"{found['requested']}, used {found['used']}, limited {found['limited']}")
    return f"its pods are refused: {message.split(' is forbidden: ', 1)[-1].strip()}"


def hint_for(reason: str) -> str | None:
    return QUOTA_HINT if "ResourceQuota" in reason else None


def _applied_at(obj: dict[str, Any]) -> str:
    """When forge last changed the object: its field manager's newest write (the controllers' status writes come
    later), any manager's for an object forge did not apply. Server time, RFC 3339: sorts as text."""
    fields = (obj.get("metadata") or {}).get("managedFields") or []
    own = [m for m in fields if m.get("manager") == MANAGER] or fields
    return max((m.get("time") or "" for m in own), default="")


def _event_time(event: dict[str, Any]) -> str:
    series = (event.get("series") or {}).get("lastObservedTime")
    return str(series or event.get("lastTimestamp") or event.get("eventTime") or "")[:19]


def refusal(cluster: ClusterAPI, ref: ObjectRef, obj: dict[str, Any], *, created: int = 0) -> tuple[str, bool] | None:
    """(why, lasting) when the controller cannot create the workload's pods, else None. `created`: how many pods of
    the current revision exist. `lasting` is False while the refusal may clear by itself: a Deployment whose old
    pods are still going away (their quota comes back), or whose pods all exist (a retry passed; the condition is
    cleared a moment later, and until then the quota, full of those very pods, shows no room)."""
    status = obj.get("status") or {}
    if ref.kind == "Deployment":
        for cond in status.get("conditions") or []:
            if (cond.get("type"), cond.get("status"), cond.get("reason")) == ("ReplicaFailure", "True", "FailedCreate"):
                message = cond.get("message") or ""
                lasting = (status.get("replicas", 0) <= status.get("updatedReplicas", 0)
                           and created < (obj.get("spec") or {}).get("replicas", 1)
                           and _current(cluster, ref, obj, cond) and not _quota_has_room(cluster, ref.namespace,
                                                                                          message))
                return in_words(message, ref.namespace), lasting
        return None
    if ref.kind != "StatefulSet" or status.get("replicas", 0) >= (obj.get("spec") or {}).get("replicas", 1):
        return None
    since = _applied_at(obj)[:19]  # events from before the last apply are about an earlier spec
    events = _failed_creates(cluster, ref.namespace, "StatefulSet", {ref.name}, since)
    if not events:
        return None
    newest = max(events, key=_event_time)
    return in_words(newest.get("message") or "", ref.namespace), True


def _failed_creates(cluster: ClusterAPI, namespace: str, kind: str, names: set[str],
                    since: str) -> list[dict[str, Any]]:
    """The controller's FailedCreate events about the objects `kind`/`names` at or after `since`."""
    return [e for e in cluster.list(f"/api/v1/namespaces/{namespace}/events")
            if (e.get("involvedObject") or {}).get("kind") == kind
            and (e.get("involvedObject") or {}).get("name") in names and e.get("reason") == "FailedCreate"
            and _event_time(e) >= since]


def _current(cluster: ClusterAPI, ref: ObjectRef, obj: dict[str, Any], cond: dict[str, Any]) -> bool:
    """Whether a Deployment's ReplicaFailure is about the spec forge applied last: the controller has seen that
    spec, and a create was refused at or after the apply (the condition's time, or a later FailedCreate event of
    one of its ReplicaSets: a refusal that persists)."""
    if (obj.get("metadata") or {}).get("generation", 0) > (obj.get("status") or {}).get("observedGeneration", 0):
        return False
    since = _applied_at(obj)[:19]
    if str(cond.get("lastUpdateTime") or cond.get("lastTransitionTime") or "")[:19] >= since:
        return True
    uid = (obj.get("metadata") or {}).get("uid")
    owned = {rs["metadata"]["name"] for rs in cluster.list(f"/apis/apps/v1/namespaces/{ref.namespace}/replicasets")
             if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences") or [])}
    return bool(owned and _failed_creates(cluster, ref.namespace, "ReplicaSet", owned, since))


def _quota_has_room(cluster: ClusterAPI, namespace: str, message: str) -> bool:
    """Whether the ResourceQuota that refused a pod now has room for what it asked (its pods or usage freed since):
    the ReplicaSet's next try will pass. False when it cannot be told (not a quota refusal, the quota unreadable)."""
    found = QUOTA.search(message)
    if not found:
        return False
    try:
        quota = cluster.get(f"/api/v1/namespaces/{quote(namespace, safe='')}/resourcequotas/"
                            f"{quote(found['quota'], safe='')}")
        requested = dict(item.split("=", 1) for item in found["requested"].split(","))
        return bool(quota) and has_room(quota, requested)
    except (ForgeError, ValueError):
        return False
