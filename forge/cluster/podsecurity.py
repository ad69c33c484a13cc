"""Pod Security "restricted" on the namespace forge deploys to (`forge setup --pod-security`).

Kubernetes' Pod Security admission reads the namespace's labels. With `enforce: restricted` the API server refuses
any pod that could run as root, escalate privileges, keep Linux capabilities or run without a seccomp profile;
with `warn: restricted` it admits such a pod and tells the client exactly what is missing. Everything forge
renders for the workshop complies, so `enforce` is forge setup's default. A bare `kubectl run` pod (exercise 3,
before forge setup) does not comply and is refused in such a namespace; `warn` admits it.
"""

from __future__ import annotations

from forge.cluster import ClusterAPI
from forge.cluster.kube import ApiError

WARN = {
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": "latest",
}
ENFORCE = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    **WARN,
}
MODES = {"enforce": ENFORCE, "warn": WARN}
DOING = {"enforce": "enforcing", "warn": "warning about"}


def restrict(cluster: ClusterAPI, namespace: str, mode: str) -> str:
    """Label `namespace` (created if missing) to enforce, or only warn about, Pod Security "restricted"; returns
    what was done, in one line. Other labels stay. A cluster that forbids it (no right to change namespaces) is
    told, not an error: forge still works."""
    labels, doing = MODES[mode], f"{DOING[mode]} Pod Security restricted"
    path = f"/api/v1/namespaces/{namespace}"
    try:
        existing = cluster.get(path)
        if existing is None:
            cluster.create("/api/v1/namespaces", {
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}})
            return f"namespace {namespace}: created, {doing}"
        current = existing.get("metadata", {}).get("labels") or {}
        if all(current.get(key) == value for key, value in labels.items()):
            return f"namespace {namespace}: {doing}"
        cluster.merge_patch(path, {"metadata": {"labels": labels}})
        return f"namespace {namespace}: labelled, {doing}"
    except ApiError as exc:
        if exc.status != 403:
            raise
        return (f"namespace {namespace}: not labelled for Pod Security (forbidden for this user); ask an admin to "
                f"label it pod-security.kubernetes.io/{mode}=restricted")
