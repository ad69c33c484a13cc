"""`forge port-forward`: this process becomes `kubectl port-forward` to a deployed service's main Service."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass

from forge.cluster.endpoints import port_forward as forward_argv
from forge.cluster.listing import build_services
from forge.context import Context
from forge.errors import ForgeError
from forge.verbs.deployment import DeploymentRequest, find


@dataclass(frozen=True)
class PortForwardRequest(DeploymentRequest):
    local: int | None = None  # the local port (default: the Service's port; 8000 + port below 1024)


def port_forward(req: PortForwardRequest, ctx: Context) -> None:
    """Print the address (stderr), then exec kubectl (the run context's `execv`)."""
    cluster, inv = find(req, ctx)
    services = build_services(cluster, inv)
    if not services:
        raise ForgeError(f"{inv.build_name}: it has no Service with ports to forward to")
    argv, address = forward_argv(cluster, services[0], req.local)
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise ForgeError(f"kubectl not found on PATH (forge port-forward runs: {' '.join(argv)})")
    ctx.out.info(f"{address} -> Service/{services[0]['metadata']['name']} (Ctrl-C stops)")
    sys.stdout.flush()
    sys.stderr.flush()
    ctx.backends.execv(kubectl, argv)
