"""Applying the class's objects and counting what that changed: a re-run of `class up` must change nothing, and
says so. A snapshot of the class's objects (one labelled list per kind) before, the stored object after: server-side
apply does not write an object it would not change. An object with a `generation` (StatefulSet) is compared by it,
since its controller writes its status meanwhile; others by resourceVersion."""

from __future__ import annotations

import threading
from collections import Counter

from classroom.api import ClassAPI, Obj
from classroom.names import LABEL_CLASS

# Every kind `class up` applies (apiVersion, kind).
CLASS_KINDS = (
    ("v1", "Namespace"), ("v1", "ServiceAccount"), ("v1", "Secret"), ("v1", "ConfigMap"), ("v1", "Service"),
    ("v1", "ResourceQuota"), ("v1", "LimitRange"), ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"), ("networking.k8s.io/v1", "NetworkPolicy"),
    ("apps/v1", "StatefulSet"), ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"),
)
Key = tuple[str, str, str]  # kind, namespace, name


def key_of(obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name")))


def version_of(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"g{meta['generation']}" if meta.get("generation") else f"r{meta.get('resourceVersion')}"


def snapshot(api: ClassAPI, klass: str) -> dict[Key, str]:
    """version_of() every object of the class, by kind, namespace and name."""
    found = {}
    for api_version, kind in CLASS_KINDS:
        for obj in api.list(api_version, kind, "", f"{LABEL_CLASS}={klass}"):
            obj.setdefault("kind", kind)
            found[key_of(obj)] = version_of(obj)
    return found


class Applier:
    """Applies objects (from several threads) and counts them as created, changed or unchanged."""

    def __init__(self, api: ClassAPI, before: dict[Key, str]) -> None:
        self.api = api
        self.before = before
        self.counts: Counter[str] = Counter()
        self.changed: list[Key] = []
        self._lock = threading.Lock()

    def apply(self, obj: Obj) -> Obj:
        stored = self.api.apply(obj)
        key = key_of(obj)
        version = version_of(stored)
        previous = self.before.get(key)
        outcome = "created" if previous is None else "unchanged" if previous == version else "changed"
        with self._lock:
            self.counts[outcome] += 1
            if outcome != "unchanged":
                self.changed.append(key)
        return stored

    def summary(self) -> str:
        return ", ".join(f"{self.counts[k]} {k}" for k in ("created", "changed", "unchanged"))

