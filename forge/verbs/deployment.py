"""Which deployment of a service a command works on (`forge url`, `logs`, `port-forward`): SERVICE in one
profile, read from the inventories forge keeps in the namespace."""

from __future__ import annotations

from dataclasses import dataclass

from forge.cluster import ClusterAPI
from forge.cluster.inventory import Inventory
from forge.cluster.listing import deployed
from forge.context import Context
from forge.plan import meant_profile


@dataclass(frozen=True)
class DeploymentRequest:
    service: str
    profile: str | None = None  # --profile, else FORGE_PROFILE, --canary / CANARY=true, branches, default
    canary: bool = False


def find(req: DeploymentRequest, ctx: Context) -> tuple[ClusterAPI, Inventory]:
    """The cluster (the namespace of the forge.yaml around the current directory) and the deployment's inventory; a
    ForgeError naming what IS deployed when there is no such deployment."""
    cluster = ctx.cluster()
    return cluster, deployed(cluster, req.service, meant_profile(req.service, req.profile, req.canary, ctx.env))
