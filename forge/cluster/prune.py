"""Deleting what forge deployed, and nothing else: prune after an apply, `forge delete`, canary abort/promote."""

from __future__ import annotations

from collections.abc import Iterable

from forge.cluster import ClusterAPI
from forge.cluster.inventory import Inventory, matches, remove, selector
from forge.cluster.kube import ApiError, ObjectRef, kind_rank
from forge.errors import ForgeError
from forge.output import Output


def delete_owned(cluster: ClusterAPI, refs: Iterable[ObjectRef], wanted: dict[str, str],
                 out: Output) -> list[ObjectRef]:
    """Delete each object that still carries every `wanted` label (workloads first, then what they use).

    An object already gone is fine; one whose labels do not match (recreated by someone else, or relabelled) is
    left alone with a note. Returns the objects deleted.
    """
    deleted = []
    for ref in sorted(refs, key=lambda r: kind_rank(r.kind), reverse=True):
        try:
            path = cluster.resource(ref.api_version, ref.kind).path(ref.namespace or None, ref.name)
        except ForgeError:
            out.info(f"  skipped {ref.ident()}: the cluster no longer serves {ref.api_version} {ref.kind}")
            continue
        current = cluster.get(path)
        if current is None:
            continue
        meta = current.get("metadata") or {}
        if not matches(meta.get("labels"), wanted):
            out.info(f"  left {ref.ident()} alone: it does not carry forge's labels for "
                f"{wanted.get('app.kubernetes.io/name')} (profile {wanted.get('forge.shopbox.io/profile')})")
            continue
        try:
            cluster.delete(path, uid=meta.get("uid"))  # exactly the object whose labels were checked
        except ApiError as exc:
            if exc.status == 404:
                continue
            if exc.status == 409:
                out.info(f"  left {ref.ident()} alone: it was replaced while forge was deleting it")
                continue
            raise ForgeError(f"{ref.ident()}: cannot delete: {exc.message}", hint=exc.hint) from None
        out.info(f"  deleted {ref.ident()}")
        deleted.append(ref)
    return deleted


def delete_build(cluster: ClusterAPI, inventory: Inventory, out: Output) -> list[ObjectRef]:
    """Remove one deployed build: its objects, then its inventory."""
    deleted = delete_owned(cluster, inventory.objects, selector(inventory.service, inventory.profile), out)
    remove(cluster, inventory)
    return deleted
