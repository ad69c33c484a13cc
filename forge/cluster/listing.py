"""What forge deployed in a namespace, read from the inventories: `forge list`, `forge url`, `forge delete`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forge.cluster import ClusterAPI, inventory
from forge.cluster.endpoints import Endpoint, endpoints
from forge.cluster.inventory import Inventory
from forge.cluster.kube import ObjectRef
from forge.cluster.wait import is_workload, rollout_status
from forge.errors import ForgeError


def deployed(cluster: ClusterAPI, service: str, profile: str) -> Inventory:
    """The inventory of one service+profile; a ForgeError naming what IS deployed when there is none."""
    found = inventory.find(cluster, cluster.namespace, service)
    for inv in found:
        if inv.profile == profile:
            return inv
    where = f"namespace {cluster.namespace} (context {cluster.context})"
    if found:
        profiles = ", ".join(sorted({inv.profile for inv in found}))
        raise ForgeError(f"{service}: no {profile} deployment in {where}; deployed profiles: {profiles}",
                         hint="choose one with --profile or --canary")
    raise ForgeError(f"{service}: forge has not deployed it in {where}")


@dataclass
class WorkloadState:
    ref: ObjectRef
    ready: bool
    progress: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.ref.kind, "name": self.ref.name, "ready": self.ready, "status": self.progress}


@dataclass
class Row:
    inventory: Inventory
    workloads: list[WorkloadState]

    @property
    def ready(self) -> bool:
        return all(w.ready for w in self.workloads)

    def readiness(self) -> str:
        if not self.workloads:
            return "-"
        done = sum(w.ready for w in self.workloads)
        return "ready" if self.ready else f"not ready ({done}/{len(self.workloads)} workloads)"

    def to_dict(self) -> dict[str, Any]:
        inv = self.inventory
        return {
            "service": inv.service,
            "profile": inv.profile,
            "name": inv.build_name,
            "version": inv.version,
            "namespace": inv.namespace,
            "ready": self.ready,
            "images": inv.images,
            "workloads": [w.to_dict() for w in self.workloads],
            "objects": [r.to_dict() for r in inv.objects],
        }


def workload_state(cluster: ClusterAPI, ref: ObjectRef) -> WorkloadState:
    obj = cluster.get(cluster.resource(ref.api_version, ref.kind).path(ref.namespace, ref.name))
    if obj is None:
        return WorkloadState(ref, False, "missing")
    status = rollout_status(ref.kind, obj)
    return WorkloadState(ref, status.done, status.progress)


def rows(cluster: ClusterAPI) -> list[Row]:
    return [
        Row(inv, [workload_state(cluster, ref) for ref in inv.objects if is_workload(ref)])
        for inv in inventory.find(cluster, cluster.namespace)
    ]


def table(found: list[Row]) -> str:
    header = ("SERVICE", "PROFILE", "NAME", "VERSION", "READY")
    lines = [header] + [
        (r.inventory.service, r.inventory.profile, r.inventory.build_name, r.inventory.version, r.readiness())
        for r in found
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def build_services(cluster: ClusterAPI, inv: Inventory) -> list[dict[str, Any]]:
    """The build's Services with ports, as the API has them now; the one named like the build first."""
    services = []
    for ref in inv.objects:
        if ref.kind == "Service" and ref.api_version == "v1":
            obj = cluster.get(f"/api/v1/namespaces/{ref.namespace}/services/{ref.name}")
            if obj is not None and (obj.get("spec") or {}).get("ports"):
                services.append(obj)
    return sorted(services, key=lambda s: s["metadata"]["name"] != inv.build_name)


def build_endpoints(cluster: ClusterAPI, inv: Inventory, forwarded: Mapping[str, str] | None = None) -> list[Endpoint]:
    return endpoints(cluster, build_services(cluster, inv), preferred=inv.build_name, forwarded=forwarded)
