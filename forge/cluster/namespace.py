"""What the namespace forge deploys to says about itself, for `forge setup`: whether it is a classroom seat (its
ConfigMap `shopbox-seat`, classroom/README.md: the seat's class, name and registry), whether it admits NodePort
Services (a ResourceQuota with `services.nodeports: 0` does not), and the image pull Secrets of its `default`
ServiceAccount (pods forge renders with a ServiceAccount of their own get them too). Whatever cannot be read
(forbidden) counts as absent: the namespace is then treated as an ordinary one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from forge.cluster import ClusterAPI
from forge.cluster.kube import ApiError

T = TypeVar("T")
SEAT_INFO = "shopbox-seat"  # = classroom.seat.SEAT_INFO (a unit test keeps them equal)


@dataclass(frozen=True)
class Seat:
    klass: str
    name: str
    registry: str


@dataclass(frozen=True)
class NamespaceFacts:
    node_ports: bool
    pull_secrets: tuple[str, ...]


def _readable(read: Callable[[], T], default: T) -> T:
    try:
        return read()
    except ApiError as err:
        if err.status == 403:
            return default
        raise


def read_seat(cluster: ClusterAPI, namespace: str) -> Seat | None:
    """The classroom seat `namespace` is, or None."""
    found = _readable(lambda: cluster.get(f"/api/v1/namespaces/{namespace}/configmaps/{SEAT_INFO}"), None)
    data = (found or {}).get("data") or {}
    if not (data.get("seat") and data.get("registry")):
        return None
    return Seat(str(data.get("class") or "?"), str(data["seat"]), str(data["registry"]))


def read_facts(cluster: ClusterAPI, namespace: str) -> NamespaceFacts:
    quotas = _readable(lambda: cluster.list(f"/api/v1/namespaces/{namespace}/resourcequotas"), [])
    node_ports = not any(str(((q.get("spec") or {}).get("hard") or {}).get("services.nodeports")) == "0"
                         for q in quotas)
    account = _readable(lambda: cluster.get(f"/api/v1/namespaces/{namespace}/serviceaccounts/default"), None)
    secrets = tuple(str(s["name"]) for s in (account or {}).get("imagePullSecrets") or []
                    if isinstance(s, dict) and s.get("name"))
    return NamespaceFacts(node_ports, secrets)
