"""`forge delete`: remove one deployment (one profile) of a service: the objects that still carry forge's labels
for it, then its inventory."""

from __future__ import annotations

from forge.cluster.kube import ObjectRef
from forge.cluster.prune import delete_build
from forge.context import Context
from forge.verbs.deployment import DeploymentRequest, find


def delete(req: DeploymentRequest, ctx: Context) -> list[ObjectRef]:
    """The objects deleted."""
    cluster, inv = find(req, ctx, announce=True)
    ctx.out.info(f"deleting {inv.build_name} (service {inv.service}, profile {inv.profile}, version {inv.version})")
    return delete_build(cluster, inv, ctx.out)
