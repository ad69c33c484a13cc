"""An in-memory stand-in for `classroom.api.ClassAPI`: the objects of one cluster, server-side apply as a replace
that keeps what the server allocated (a Service's nodePort) and bumps resourceVersion (and, for objects with a
spec, generation) only when something changed. The real API server is tested in the cluster tier
(tests/classroom/test_class_cluster.py)."""

from __future__ import annotations

import base64
import copy
import itertools
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from classroom.api import Kind
from classroom.errors import ClassError

KINDS = [
    Kind("v1", "Namespace", False, False), Kind("v1", "ConfigMap", True, True), Kind("v1", "Secret", True, True),
    Kind("v1", "Service", True, True), Kind("v1", "ServiceAccount", True, True), Kind("v1", "Pod", True, True),
    Kind("v1", "ResourceQuota", True, True), Kind("v1", "LimitRange", True, True),
    Kind("v1", "PersistentVolumeClaim", True, True), Kind("apps/v1", "Deployment", True, True),
    Kind("apps/v1", "StatefulSet", True, True), Kind("rbac.authorization.k8s.io/v1", "Role", True, True),
    Kind("rbac.authorization.k8s.io/v1", "RoleBinding", True, True),
    Kind("networking.k8s.io/v1", "NetworkPolicy", True, True),
    Kind("discovery.k8s.io/v1", "EndpointSlice", True, True),
    Kind("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", False, True),
    Kind("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", False, True),
]
Key = tuple[str, str, str]  # kind, namespace, name


def matches(labels: dict[str, str] | None, selector: str | None) -> bool:
    """`key=value`, `!key` and `key` terms, comma-separated (what the class commands send)."""
    labels = labels or {}
    for term in (selector or "").split(","):
        if not term:
            continue
        if term.startswith("!"):
            if term[1:] in labels:
                return False
        elif "=" in term:
            key, _, value = term.partition("=")
            if labels.get(key) != value:
                return False
        elif term not in labels:
            return False
    return True


def _content(obj: dict[str, Any]) -> Any:
    meta = {k: v for k, v in obj["metadata"].items() if k not in ("resourceVersion", "generation", "uid")}
    return {**obj, "metadata": meta}


class FakeClassAPI:
    def __init__(self, server: str = "https://fake:6443") -> None:
        self.server = server
        self.objects: dict[Key, dict[str, Any]] = {}
        self.tokens: list[tuple[str, str, int]] = []  # (namespace, account, seconds) of every TokenRequest
        self.token_cap: int | None = None  # seconds: an API server's --service-account-max-token-expiration
        self.calls = 0  # writes (apply, delete): what "nothing half-applied" tests count
        self.now: datetime | None = None  # the clock tokens are issued by (None: the real one)
        self._versions = itertools.count(1)
        self._ports = itertools.count(30001)
        self._lock = threading.Lock()
        self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})

    # -- test helpers -----------------------------------------------------------------------------

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object as a user or controller would (not counted as the class's writes)."""
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        meta.setdefault("uid", str(uuid.uuid4()))
        meta["resourceVersion"] = str(next(self._versions))
        meta.setdefault("creationTimestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.objects[(obj["kind"], meta.get("namespace", ""), meta["name"])] = obj
        return obj

    def find(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((kind, namespace, name))

    # -- ClassAPI ---------------------------------------------------------------------------------

    def ca_data(self) -> str:
        return base64.b64encode(b"-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n").decode()

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
            obj = copy.deepcopy(obj)
            meta = obj["metadata"]
            key = (obj["kind"], meta.get("namespace", ""), meta["name"])
            if meta.get("namespace") and ("Namespace", "", meta["namespace"]) not in self.objects:
                raise ClassError(f"{obj['kind']} {meta['namespace']}/{meta['name']}: namespaces "
                                 f"\"{meta['namespace']}\" not found")
            old = self.objects.get(key)
            if obj["kind"] == "Secret" and "stringData" in obj:
                obj["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in obj.pop("stringData").items()}
            if obj["kind"] == "Service" and obj["spec"].get("type") == "NodePort":
                old_ports = {p.get("name"): p.get("nodePort") for p in ((old or {}).get("spec") or {}).get("ports", [])}
                for port in obj["spec"]["ports"]:
                    port.setdefault("nodePort", old_ports.get(port.get("name")) or next(self._ports))
            if old is not None:
                meta["uid"] = old["metadata"]["uid"]
                meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
                if _content(old) == _content({**obj, "metadata": {**meta}}):
                    return copy.deepcopy(old)
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
            meta["resourceVersion"] = str(next(self._versions))
            if "spec" in obj:
                meta["generation"] = int((old or {}).get("metadata", {}).get("generation", 0)) + 1
            self.objects[key] = obj
            return copy.deepcopy(obj)

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get((kind, namespace, name))
        return copy.deepcopy(found) if found else None

    def list(self, api_version: str, kind: str, namespace: str = "", selector: str | None = None) -> list[dict]:
        return [copy.deepcopy(o) for (k, ns, _), o in sorted(self.objects.items())
                if k == kind and (not namespace or ns == namespace)
                and matches(o["metadata"].get("labels"), selector)]

    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> bool:
        with self._lock:
            self.calls += 1
            if self.objects.pop((kind, namespace, name), None) is None:
                return False
            if kind == "Namespace":  # the namespace controller, at once
                for key in [k for k in self.objects if k[1] == name]:
                    del self.objects[key]
            return True

    def delete_collection(self, api_version: str, kind: str, namespace: str, selector: str) -> None:
        with self._lock:
            self.calls += 1
            for key in [k for k, o in self.objects.items()
                        if k[0] == kind and k[1] == namespace and matches(o["metadata"].get("labels"), selector)]:
                del self.objects[key]

    def kinds(self) -> list[Kind]:
        return list(KINDS)

    def create_token(self, namespace: str, account: str, seconds: int) -> tuple[str, datetime]:
        found = self.objects.get(("ServiceAccount", namespace, account))
        if found is None:
            raise ClassError(f"token for ServiceAccount {namespace}/{account}: serviceaccounts \"{account}\" not found")
        self.tokens.append((namespace, account, seconds))
        seconds = min(seconds, self.token_cap or seconds)
        expires = (self.now or datetime.now(UTC)).replace(microsecond=0) + timedelta(seconds=seconds)
        claims = {"exp": int(expires.timestamp()), "jti": str(uuid.uuid4()), "kubernetes.io": {
            "namespace": namespace, "serviceaccount": {"name": account, "uid": found["metadata"]["uid"]}}}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        return f"eyJhbGciOiJSUzI1NiJ9.{payload}.signature", expires
