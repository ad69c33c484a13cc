"""`forge canary abort`: delete the canary's objects and inventory; the stable deployment is untouched."""

from __future__ import annotations

from dataclasses import dataclass

from forge.cluster.kube import ObjectRef
from forge.cluster.listing import deployed
from forge.cluster.prune import delete_build
from forge.config.profiles import CANARY
from forge.context import Context


@dataclass(frozen=True)
class AbortRequest:
    service: str


def abort(req: AbortRequest, ctx: Context) -> list[ObjectRef]:
    """The objects deleted."""
    cluster = ctx.cluster()
    ctx.out.info(cluster.target())
    inv = deployed(cluster, req.service, CANARY)
    ctx.out.info(f"deleting {inv.build_name} (version {inv.version})")
    return delete_build(cluster, inv, ctx.out)
