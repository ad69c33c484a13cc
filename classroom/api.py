"""The class commands' one seam to the cluster: `ClassAPI`, objects addressed by apiVersion, kind, namespace and
name. The real one (`KubeClassAPI`) rides on forge's small REST layer (forge.cluster.kube: kubeconfig, discovery,
one-line errors); the unit tests use tests/classroom/fake_api.py."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from classroom.errors import ClassError
from classroom.model import parse_timestamp
from classroom.names import MANAGER
from forge.cluster.kube import APPLY_CONTENT_TYPE, ApiError, Cluster, connect
from forge.errors import ForgeError

Obj = dict[str, Any]


@dataclass(frozen=True)
class Kind:
    """A kind the API serves with `list` (discovery): what `class reset` sweeps and `class down` checks."""

    api_version: str
    kind: str
    namespaced: bool
    collection_delete: bool  # served with deletecollection


class ClassAPI(Protocol):
    server: str  # the API server URL of the instructor's kubeconfig

    def ca_data(self) -> str:
        """base64 PEM of the CA the instructor's kubeconfig trusts ("" when it names none)."""
        ...

    def apply(self, obj: Obj) -> Obj:
        """Server-side apply (field manager shopbox-class, conflicts forced); the object as stored."""
        ...

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> Obj | None:
        ...

    def list(self, api_version: str, kind: str, namespace: str = "", selector: str | None = None) -> list[Obj]:
        """Items of one namespace, or of every namespace (and cluster-scoped kinds) with namespace ""."""
        ...

    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> bool:
        """Delete (dependents in the background); False when it was already gone."""
        ...

    def delete_collection(self, api_version: str, kind: str, namespace: str, selector: str) -> None:
        ...

    def kinds(self) -> list[Kind]:
        """Every kind served with list, in each group's preferred version (discovery)."""
        ...

    def create_token(self, namespace: str, account: str, seconds: int) -> tuple[str, datetime]:
        """A bound token of the ServiceAccount (TokenRequest) and when it expires (the API server may cap it)."""
        ...


class KubeClassAPI:
    """ClassAPI over the instructor's kubeconfig (KUBECONFIG or ~/.kube/config, its current context)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.server = cluster.server

    @classmethod
    def connect(cls, context: str | None = None) -> KubeClassAPI:
        try:
            cluster = connect(context=context)
            cluster.api.configuration.connection_pool_maxsize = 32  # class status reads seats in parallel
            cluster.server_version()
        except ForgeError as err:
            raise ClassError(str(err)) from None
        return cls(cluster)

    def ca_data(self) -> str:
        path = self.cluster.api.configuration.ssl_ca_cert
        return base64.b64encode(Path(path).read_bytes()).decode() if path else ""

    def _path(self, api_version: str, kind: str, namespace: str, name: str | None = None) -> str:
        try:
            return self.cluster.resource(api_version, kind).path(namespace or None, name)
        except ForgeError as err:
            raise ClassError(str(err)) from None

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self.cluster.request(method, path, **kwargs)
        except ApiError:
            raise
        except ForgeError as err:
            raise ClassError(str(err)) from None

    def apply(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        path = self._path(obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])
        try:
            return dict(self._call("PATCH", path, query={"fieldManager": MANAGER, "force": "true"}, body=obj,
                                   content_type=APPLY_CONTENT_TYPE))
        except ApiError as err:
            where = f"{obj['kind']} {meta.get('namespace', '') + '/' if meta.get('namespace') else ''}{meta['name']}"
            raise ClassError(f"{where}: {err.message}") from None

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> Obj | None:
        try:
            return dict(self._call("GET", self._path(api_version, kind, namespace, name)))
        except ApiError as err:
            if err.status == 404:
                return None
            raise ClassError(f"{kind} {namespace + '/' if namespace else ''}{name}: {err.message}") from None

    def list(self, api_version: str, kind: str, namespace: str = "", selector: str | None = None) -> list[Obj]:
        try:
            found = self._call("GET", self._path(api_version, kind, namespace), query={"labelSelector": selector})
        except ApiError as err:
            raise ClassError(f"listing {kind}{' in ' + namespace if namespace else ''}: {err.message}") from None
        return list(found.get("items") or [])

    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> bool:
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
        try:
            self._call("DELETE", self._path(api_version, kind, namespace, name), body=body)
        except ApiError as err:
            if err.status == 404:
                return False
            raise ClassError(f"deleting {kind} {namespace + '/' if namespace else ''}{name}: {err.message}") from None
        return True

    def delete_collection(self, api_version: str, kind: str, namespace: str, selector: str) -> None:
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
        try:
            self._call("DELETE", self._path(api_version, kind, namespace), query={"labelSelector": selector},
                       body=body)
        except ApiError as err:
            raise ClassError(f"deleting {kind} in {namespace}: {err.message}") from None

    def kinds(self) -> list[Kind]:
        groups = self._call("GET", "/apis")
        versions = ["v1"] + [g["preferredVersion"]["groupVersion"] for g in groups.get("groups") or []]
        found = []
        for version in versions:
            path = "/api/v1" if version == "v1" else f"/apis/{version}"
            for resource in (self._call("GET", path).get("resources") or []):
                verbs = set(resource.get("verbs") or [])
                if "/" not in resource["name"] and "list" in verbs:
                    found.append(Kind(version, resource["kind"], bool(resource.get("namespaced")),
                                      "deletecollection" in verbs))
        return found

    def create_token(self, namespace: str, account: str, seconds: int) -> tuple[str, datetime]:
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"expirationSeconds": seconds}}
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token"
        try:
            status = self._call("POST", path, body=body).get("status") or {}
        except ApiError as err:
            raise ClassError(f"token for ServiceAccount {namespace}/{account}: {err.message}") from None
        expires = status.get("expirationTimestamp")
        return str(status.get("token") or ""), parse_timestamp(expires) if expires else datetime.now(UTC)

