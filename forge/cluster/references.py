"""Secrets and ConfigMaps that a deploy's pods need but nobody provides.

A pod whose env or volume names a missing Secret or ConfigMap is admitted by the API server and then waits in
CreateContainerConfigError (or ContainerCreating) until the rollout times out; a multi-service deploy has applied
everything else by then. forge checks before it applies: each non-optional reference must be an object of the same
deploy or exist in the namespace. Only existence is checked (a missing key still shows at the rollout).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from forge.cluster import ClusterAPI
from forge.cluster.kube import ApiError
from forge.model import pod_template

COLLECTIONS = {"Secret": "secrets", "ConfigMap": "configmaps"}


@dataclass(frozen=True)
class Reference:
    kind: str  # Secret or ConfigMap
    name: str
    where: str  # e.g. "env POSTGRES_PASSWORD of container postgres"
    key: str | None = None


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec of a Pod, or of a workload's pod template."""
    spec = doc.get("spec") if doc.get("kind") == "Pod" else (pod_template(doc) or {}).get("spec")
    return spec if isinstance(spec, dict) else None


def references(spec: dict[str, Any]) -> Iterator[Reference]:
    """The non-optional Secret and ConfigMap references of a pod spec (env, envFrom, volumes)."""
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            cname = container.get("name", "?")
            for env in container.get("env") or []:
                source = env.get("valueFrom") or {}
                for field, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                    ref = source.get(field)
                    if _required(ref):
                        yield Reference(kind, ref["name"], f"env {env.get('name')} of container {cname}",
                                        ref.get("key"))
            for env_from in container.get("envFrom") or []:
                for field, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                    ref = env_from.get(field)
                    if _required(ref):
                        yield Reference(kind, ref["name"], f"envFrom of container {cname}")
    for volume in spec.get("volumes") or []:
        where = f"volume {volume.get('name')}"
        if _required(volume.get("secret"), "secretName"):
            yield Reference("Secret", volume["secret"]["secretName"], where)
        if _required(volume.get("configMap")):
            yield Reference("ConfigMap", volume["configMap"]["name"], where)
        for source in (volume.get("projected") or {}).get("sources") or []:
            for field, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
                if _required(source.get(field)):
                    yield Reference(kind, source[field]["name"], where)


def _required(ref: Any, name: str = "name") -> bool:
    return isinstance(ref, dict) and bool(ref.get(name)) and not ref.get("optional")


class Missing:
    """Checks one deploy's workloads against the objects it applies (`objects`, namespaces set) and the cluster;
    each Secret or ConfigMap is looked up once. A cluster that will not say (no right to read Secrets) is given
    the benefit of the doubt."""

    def __init__(self, cluster: ClusterAPI, objects: Sequence[dict[str, Any]]):
        self.cluster = cluster
        self.provided = {(o.get("kind"), o["metadata"].get("namespace", ""), o["metadata"].get("name"))
                         for o in objects}
        self.exists: dict[tuple[str, str, str], bool] = {}

    def __call__(self, obj: dict[str, Any]) -> list[tuple[str, str]]:
        """(problem, hint) for each reference of `obj`'s pods to an object that is nowhere."""
        spec = pod_spec(obj)
        namespace = obj["metadata"].get("namespace", "")
        problems = []
        for ref in references(spec) if spec else ():
            wanted = (ref.kind, namespace, ref.name)
            if wanted in self.provided:
                continue
            if wanted not in self.exists:
                self.exists[wanted] = _exists(self.cluster, *wanted)
            if not self.exists[wanted]:
                problems.append((f"{obj['kind']}/{obj['metadata'].get('name')}: {ref.kind} {ref.name} ({ref.where}) "
                                 f"does not exist in namespace {namespace}", _hint(ref, namespace)))
        return problems


def _exists(cluster: ClusterAPI, kind: str, namespace: str, name: str) -> bool:
    try:
        return cluster.get(f"/api/v1/namespaces/{namespace}/{COLLECTIONS[kind]}/{name}") is not None
    except ApiError:
        return True


def _hint(ref: Reference, namespace: str) -> str:
    if ref.kind == "Secret":
        key = ref.key or "KEY"
        return f"create it first: kubectl create secret generic {ref.name} -n {namespace} --from-literal={key}=..."
    return f"create it first (kubectl create configmap {ref.name} -n {namespace} ...) or deploy the service with it"
