"""How big a seat may get: the one place for the seat's ResourceQuota and LimitRange and the registry pod's size.

The quota's measured entries (MEASURED: pods, CPU and memory requests, memory limits, claims, storage) are what a
`class rehearse --seats 3 --pages 3-9` on a 3-node kind class cluster proposed: per seat at its peak 920m-1020m
CPU and 1.2-1.3Gi memory requested, 3.2-3.4Gi of memory limits, 12-13 pods; the largest seat's peaks + 50 %
(classroom/sizing.py: quota) gave pods=20, requests.cpu=1600m, requests.memory=2048Mi (the 2Gi below),
limits.memory=6Gi, persistentvolumeclaims=2, requests.storage=2Gi. Page 9 with everything deployed as forge renders
it (qotm x3, usersvc x2 (app + Envoy sidecar), postgres, eds, jaeger, envoy, auth, prometheus = 11 pods asking for
770m CPU and 1088Mi memory, with 3.0Gi of memory limits and one 1Gi claim) is below every entry. A rehearsal on
the instructor's own cluster measures its own peaks (docs/instructor.md).

CPU limits are not quota'd: CPU is compressible, and the edge's own limit (2 CPUs) would make such a quota
meaningless. Memory limits are: they bound what a seat can take from its node.

`class up --sizes FILE` takes the measured entries (MEASURED) from a rehearsal's class-sizes.yaml instead
(`read_measured`); the class record keeps them, so `class add` and `class reset` apply the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from classroom.errors import UsageError
from classroom.files import read_yaml

# The seat's ResourceQuota `spec.hard`.
QUOTA: dict[str, str] = {
    "pods": "20",
    "requests.cpu": "1600m",
    "requests.memory": "2Gi",
    "limits.memory": "6Gi",
    "persistentvolumeclaims": "2",  # postgres' data-postgres-0 (page 9), and one spare
    "requests.storage": "2Gi",  # postgres asks 1Gi
    "services": "15",  # page 9 has 11 (qotm, qotm-canary, qotm-vip, auth, envoy, prometheus, usersvc, postgres, ...)
    "services.loadbalancers": "0",  # a cloud LoadBalancer costs money and a public address
    "services.nodeports": "0",  # seats reach their Services through port-forwards (CONVENTIONS.md 4)
    "configmaps": "40",  # forge's inventories (one per build) + envoy, prometheus, jaeger, usersvc configs
    "secrets": "30",
    "count/deployments.apps": "20",
    "count/statefulsets.apps": "5",
    "count/replicasets.apps": "100",  # 10 revisions kept per Deployment
}

# The seat's LimitRange: defaults for a container that names no resources (a bare `kubectl run`), a ceiling
# per container (the largest forge renders: envoy 2 CPUs, prometheus 1Gi) and per claim.
CONTAINER_DEFAULT_REQUEST = {"cpu": "50m", "memory": "64Mi"}
CONTAINER_DEFAULT_LIMIT = {"cpu": "500m", "memory": "256Mi"}
CONTAINER_MAX = {"cpu": "2", "memory": "1Gi"}
CLAIM_MAX = {"storage": "2Gi"}

# One seat's registry pod (in the class namespace): idle most of the day, busy for a few seconds per push.
REGISTRY_RESOURCES = {
    "requests": {"cpu": "10m", "memory": "32Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}
REGISTRY_STORAGE = "2Gi"  # emptyDir sizeLimit: a day of one participant's images (QOTM, auth, usersvc, eds)

# The quota entries a rehearsal measures (classroom/sizing.py: quota); the others stay as above.
MEASURED = ("pods", "requests.cpu", "requests.memory", "limits.memory", "persistentvolumeclaims", "requests.storage")


def seat_quota(measured: dict[str, str] | None = None) -> dict[str, str]:
    """The seat's ResourceQuota `spec.hard`: QUOTA, with the measured entries when there are some."""
    return {**QUOTA, **(measured or {})}


def check_measured(found: Any, where: str) -> dict[str, str]:
    """Measured quota entries as class-sizes.yaml or the class record hold them: known keys, positive quantities."""
    from kubernetes.utils import parse_quantity

    if not isinstance(found, dict) or not found:
        raise UsageError(f"{where}: expected the measured quota (keys {', '.join(MEASURED)})")
    checked = {}
    for key, value in found.items():
        if key not in MEASURED:
            raise UsageError(f"{where}: {key}: not a measured quota entry (expected one of {', '.join(MEASURED)})")
        try:
            if parse_quantity(str(value)) <= 0:
                raise ValueError
        except ValueError:
            raise UsageError(f"{where}: {key}: {value!r} is not a positive quantity") from None
        checked[str(key)] = str(value)
    return checked


def read_measured(path: Path) -> dict[str, str]:
    """The `quota` of a rehearsal's class-sizes.yaml (`class rehearse` writes it)."""
    data = read_yaml(path, UsageError)
    if not isinstance(data, dict) or "quota" not in data:
        raise UsageError(f"{path}: not class rehearse's class-sizes.yaml (no quota)")
    return check_measured(data["quota"], f"{path}: quota")
