"""`forge delete`: remove one deployment (one profile) of a service: the objects that still carry forge's labels
for it, then its inventory."""

from __future__ import annotations

from dataclasses import dataclass

from forge.cluster.kube import ObjectRef
from forge.cluster.listing import deployed
from forge.cluster.prune import delete_build
from forge.context import Context
from forge.plan import meant_profile


@dataclass(frozen=True)
class DeleteRequest:
    services: tuple[str, ...]
    profile: str | None = None  # --profile, else FORGE_PROFILE, --canary / CANARY=true, branches, default
    canary: bool = False


def delete(req: DeleteRequest, ctx: Context) -> list[ObjectRef]:
    """The objects deleted. Every service's deployment is found first: one that does not exist deletes nothing."""
    cluster = ctx.cluster()
    ctx.out.info(cluster.target())
    inventories = [deployed(cluster, service, meant_profile(service, req.profile, req.canary, ctx.env))
                   for service in dict.fromkeys(req.services)]
    deleted: list[ObjectRef] = []
    for inv in inventories:
        ctx.out.info(f"deleting {inv.build_name} (service {inv.service}, profile {inv.profile}, version {inv.version})")
        deleted += delete_build(cluster, inv, ctx.out)
    return deleted
