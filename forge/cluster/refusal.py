"""Why a workload's controller cannot create its pods: the API server refused them (a ResourceQuota, a LimitRange,
Pod Security), so no pod exists to explain the wait. A Deployment says it in its `ReplicaFailure` condition, a
StatefulSet only in its controller's `FailedCreate` events. In a classroom seat the quota is the usual cause, and
the one line names it and its namespace."""

from __future__ import annotations

import re
from typing import Any

from forge.cluster import ClusterAPI
from forge.cluster.kube import ObjectRef

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
    """The newest write time among the object's field managers (server time, RFC 3339: sorts as text)."""
    return max((m.get("time") or "" for m in (obj.get("metadata") or {}).get("managedFields") or []), default="")


def _event_time(event: dict[str, Any]) -> str:
    series = (event.get("series") or {}).get("lastObservedTime")
    return str(series or event.get("lastTimestamp") or event.get("eventTime") or "")[:19]


def refusal(cluster: ClusterAPI, ref: ObjectRef, obj: dict[str, Any]) -> tuple[str, bool] | None:
    """(why, lasting) when the controller cannot create the workload's pods, else None. `lasting` is False while
    the refusal may clear by itself: a Deployment whose old pods are still going away (their quota comes back)."""
    status = obj.get("status") or {}
    if ref.kind == "Deployment":
        for cond in status.get("conditions") or []:
            if (cond.get("type"), cond.get("status"), cond.get("reason")) == ("ReplicaFailure", "True", "FailedCreate"):
                lasting = status.get("replicas", 0) <= status.get("updatedReplicas", 0)
                return in_words(cond.get("message") or "", ref.namespace), lasting
        return None
    if ref.kind != "StatefulSet" or status.get("replicas", 0) >= (obj.get("spec") or {}).get("replicas", 1):
        return None
    since = _applied_at(obj)[:19]  # events from before the last apply are about an earlier spec
    events = [e for e in cluster.list(f"/api/v1/namespaces/{ref.namespace}/events")
              if (e.get("involvedObject") or {}).get("kind") == "StatefulSet"
              and (e.get("involvedObject") or {}).get("name") == ref.name and e.get("reason") == "FailedCreate"
              and _event_time(e) >= since]
    if not events:
        return None
    newest = max(events, key=_event_time)
    return in_words(newest.get("message") or "", ref.namespace), True
