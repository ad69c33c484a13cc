"""What forge deployed, recorded in the cluster: one ConfigMap per build (`forge-inventory-<build.name>`).

The inventory lists every object applied for a build, its version and its images. `list`, prune, `delete` and
`canary promote` read it, so they need no cluster-wide discovery and no kind list, and they can check each
object's labels before touching it: forge deletes only objects labelled as this service+profile's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from forge.cluster import ClusterAPI
from forge.cluster.kube import ApiError, ObjectRef, label_selector
from forge.errors import ForgeError
from forge.model import LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME, LABEL_PROFILE, LABEL_VERSION, MANAGER, Build

LABEL_INVENTORY = "forge.shopbox.io/inventory"
NAME_PREFIX = "forge-inventory-"
CONFIGMAPS = "/api/v1/namespaces/{namespace}/configmaps"


def selector(service: str, profile: str) -> dict[str, str]:
    """Labels of every object of one service+profile (the same as Build.selector())."""
    return {LABEL_MANAGED_BY: MANAGER, LABEL_NAME: service, LABEL_PROFILE: profile}


def matches(labels: dict[str, str] | None, wanted: dict[str, str]) -> bool:
    """True when `labels` carry every label of `wanted`: the check before forge deletes anything."""
    labels = labels or {}
    return all(labels.get(k) == v for k, v in wanted.items())


def object_key(ref: ObjectRef) -> tuple[str, str, str, str]:
    """Identity of an object across apiVersion changes (apps/v1beta2 -> apps/v1 is the same Deployment)."""
    group = ref.api_version.rsplit("/", 1)[0] if "/" in ref.api_version else ""
    return (group, ref.kind, ref.namespace, ref.name)


def stale(previous: Iterable[ObjectRef], current: Iterable[ObjectRef]) -> list[ObjectRef]:
    """Objects recorded before that the current render no longer has: what prune deletes."""
    keep = {object_key(r) for r in current}
    seen: set[tuple[str, str, str, str]] = set()
    result = []
    for ref in previous:
        key = object_key(ref)
        if key not in keep and key not in seen:
            seen.add(key)
            result.append(ref)
    return result


@dataclass
class Inventory:
    service: str
    profile: str
    build_name: str
    version: str
    namespace: str
    objects: list[ObjectRef] = field(default_factory=list)
    images: dict[str, str] = field(default_factory=dict)  # container name -> image reference
    configmap_name: str = ""

    def __post_init__(self) -> None:
        self.configmap_name = self.configmap_name or NAME_PREFIX + self.build_name

    @property
    def canary(self) -> bool:
        return self.profile == "canary"

    @classmethod
    def of(cls, build: Build, objects: Iterable[ObjectRef]) -> Inventory:
        images = {image.container.name: image.ref for image in build.images.values()}
        return cls(build.service.name, build.profile, build.name, build.version, build.namespace, list(objects),
                   images)

    def labels(self) -> dict[str, str]:
        return {
            **selector(self.service, self.profile),
            LABEL_INSTANCE: self.build_name,
            LABEL_VERSION: self.version,
            LABEL_INVENTORY: "true",
        }

    def configmap(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": self.configmap_name, "namespace": self.namespace, "labels": self.labels()},
            "data": {
                "service": self.service,
                "profile": self.profile,
                "build": self.build_name,
                "version": self.version,
                "objects": json.dumps([r.to_dict() for r in self.objects], indent=1, sort_keys=True),
                "images": json.dumps(self.images, indent=1, sort_keys=True),
            },
        }

    @classmethod
    def from_configmap(cls, cm: dict[str, Any]) -> Inventory:
        meta = cm.get("metadata") or {}
        data = cm.get("data") or {}
        where = f"ConfigMap {meta.get('namespace')}/{meta.get('name')}"
        try:
            return cls(
                service=data["service"],
                profile=data["profile"],
                build_name=data["build"],
                version=data["version"],
                namespace=meta["namespace"],
                objects=[ObjectRef.from_dict(o) for o in json.loads(data["objects"])],
                images=dict(json.loads(data.get("images") or "{}")),
                configmap_name=meta["name"],
            )
        except KeyError as exc:
            raise ForgeError(f"{where}: not a forge inventory (no {exc.args[0]} in it)") from None
        except (TypeError, ValueError) as exc:
            raise ForgeError(f"{where}: not a forge inventory (unreadable objects or images: {exc})") from None


def find(cluster: ClusterAPI, namespace: str, service: str | None = None,
         profile: str | None = None) -> list[Inventory]:
    """Inventories in `namespace`, optionally only one service's and/or one profile's, sorted by build name."""
    wanted = {LABEL_MANAGED_BY: MANAGER, LABEL_INVENTORY: "true"}
    if service:
        wanted[LABEL_NAME] = service
    if profile:
        wanted[LABEL_PROFILE] = profile
    listing = cluster.list(CONFIGMAPS.format(namespace=namespace), label_selector(wanted))
    found = [Inventory.from_configmap(cm) for cm in listing]
    return sorted(found, key=lambda inv: (inv.service, inv.build_name))


def save(cluster: ClusterAPI, inventory: Inventory) -> None:
    body = inventory.configmap()
    cluster.apply(f"{CONFIGMAPS.format(namespace=inventory.namespace)}/{inventory.configmap_name}", body)


def remove(cluster: ClusterAPI, inventory: Inventory) -> None:
    try:
        cluster.delete(f"{CONFIGMAPS.format(namespace=inventory.namespace)}/{inventory.configmap_name}")
    except ApiError as exc:
        if exc.status != 404:
            raise
