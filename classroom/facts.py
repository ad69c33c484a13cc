"""What the class commands read before they change anything: the cluster's identity and API endpoints, the class
record (ConfigMap `class` in the class namespace) and the class's seats."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from classroom import sizes
from classroom.api import ClassAPI
from classroom.errors import ClassError
from classroom.model import ApiEndpoint, parse_timestamp, timestamp
from classroom.names import (
    LABEL_CLASS,
    LABEL_PART,
    LABEL_SEAT,
    PART_CLASS,
    PART_SEAT,
    class_labels,
    class_namespace,
)
from classroom.seat import POD_SECURITY

RECORD = "class"  # the class record's ConfigMap, in the class namespace
MODE_PER_SEAT = "per-seat"  # a registry per seat (registry.py)
MODE_EXTERNAL = "external"  # the instructor's registry (--registry-file)


@dataclass(frozen=True)
class Record:
    """The class's settings, kept in the cluster so that re-runs, `add`, `reset` and `status` agree."""

    klass: str
    ends: datetime
    cluster_id: str
    server: str
    registry: str  # MODE_PER_SEAT or MODE_EXTERNAL
    quota: dict[str, str] | None = None  # the measured quota entries (class up --sizes), None: sizes.QUOTA's

    def configmap(self) -> dict[str, Any]:
        data = {"ends": timestamp(self.ends), "cluster-id": self.cluster_id, "server": self.server,
                "registry": self.registry}
        if self.quota:
            data["quota"] = json.dumps(self.quota, sort_keys=True)
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": RECORD, "namespace": class_namespace(self.klass),
                             "labels": class_labels(self.klass)},
                "data": data}


def cluster_id(api: ClassAPI) -> str:
    """The uid of the kube-system Namespace: stable for the cluster's life, different on every other cluster."""
    found = api.get("v1", "Namespace", "", "kube-system")
    uid = ((found or {}).get("metadata") or {}).get("uid")
    if not uid:
        raise ClassError(f"the cluster at {api.server} has no kube-system namespace to identify it by")
    return str(uid)


def api_endpoints(api: ClassAPI) -> tuple[ApiEndpoint, ...]:
    """Where pods reach the API server after the `kubernetes` Service's translation (its EndpointSlices)."""
    found = set()
    for piece in api.list("discovery.k8s.io/v1", "EndpointSlice", "default", "kubernetes.io/service-name=kubernetes"):
        ports = [int(p["port"]) for p in piece.get("ports") or [] if p.get("port")]
        for endpoint in piece.get("endpoints") or []:
            for address in endpoint.get("addresses") or []:
                found.update(ApiEndpoint(address, port) for port in ports)
    return tuple(sorted(found, key=lambda e: (e.ip, e.port)))


def class_namespace_object(klass: str) -> dict[str, Any]:
    labels = {**class_labels(klass), LABEL_PART: PART_CLASS, **POD_SECURITY}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": class_namespace(klass), "labels": labels}}


def owned_by(obj: dict[str, Any] | None, klass: str) -> bool:
    return ((obj or {}).get("metadata") or {}).get("labels", {}).get(LABEL_CLASS) == klass


def read_record(api: ClassAPI, klass: str) -> Record | None:
    """The class record, None when there is no such class; ClassError when its namespace is someone else's."""
    namespace = api.get("v1", "Namespace", "", class_namespace(klass))
    if namespace is None:
        return None
    if not owned_by(namespace, klass):
        raise ClassError(f"namespace {class_namespace(klass)} exists and is not class {klass}'s (no label "
                         f"{LABEL_CLASS}={klass}): choose another class name with --class")
    cm = api.get("v1", "ConfigMap", class_namespace(klass), RECORD)
    if cm is None:
        return None
    data = cm.get("data") or {}
    try:
        quota = sizes.check_measured(json.loads(data["quota"]), f"ConfigMap {class_namespace(klass)}/{RECORD}: "
                                     "quota") if data.get("quota") else None
        return Record(klass, parse_timestamp(data["ends"]), data["cluster-id"], data["server"], data["registry"],
                      quota)
    except (KeyError, ValueError) as err:
        raise ClassError(f"ConfigMap {class_namespace(klass)}/{RECORD}: not a class record ({err})") from None


def require_record(api: ClassAPI, klass: str) -> Record:
    record = read_record(api, klass)
    if record is None:
        raise ClassError(f"there is no class {klass} on the cluster at {api.server} (class up makes it)")
    return record


def seats(api: ClassAPI, klass: str) -> list[str]:
    """The class's seats, by their namespaces' labels, sorted."""
    selector = f"{LABEL_CLASS}={klass},{LABEL_PART}={PART_SEAT}"
    found = (((ns.get("metadata") or {}).get("labels") or {}).get(LABEL_SEAT)
             for ns in api.list("v1", "Namespace", "", selector))
    return sorted(name for name in found if name)
