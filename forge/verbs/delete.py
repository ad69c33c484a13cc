"""`forge delete`: remove one deployment (one profile) of a service: the objects that still carry forge's labels
for it, then its inventory."""

from __future__ import annotations

from dataclasses import dataclass

from forge.cluster.kube import ObjectRef
from forge.cluster.listing import deployed, profile_for
from forge.cluster.prune import delete_build
from forge.context import Context


@dataclass(frozen=True)
class DeleteRequest:
    services: tuple[str, ...]
    profile: str | None = None  # --profile, else FORGE_PROFILE, else --canary / CANARY=true, else default
    canary: bool = False


def delete(req: DeleteRequest, ctx: Context) -> list[ObjectRef]:
    """The objects deleted. Every service's deployment is found first: one that does not exist deletes nothing."""
    cluster = ctx.cluster()
    ctx.out.info(cluster.target())
    profile = profile_for(req.profile, req.canary, ctx.env)
    inventories = [deployed(cluster, service, profile) for service in dict.fromkeys(req.services)]
    deleted: list[ObjectRef] = []
    for inv in inventories:
        ctx.out.info(f"deleting {inv.build_name} (service {inv.service}, profile {inv.profile}, version {inv.version})")
        deleted += delete_build(cluster, inv, ctx.out)
    return deleted
