"""`forge url`: the best URL of a deployed service from this shell."""

from __future__ import annotations

from forge.cluster.endpoints import service_urls
from forge.cluster.listing import build_endpoints
from forge.context import Context
from forge.errors import ForgeError
from forge.verbs.deployment import DeploymentRequest, find


def url(req: DeploymentRequest, ctx: Context) -> str:
    """Print the URL (the product; with --output json an object with the Service and the command to run first);
    the `kubectl port-forward` to run first, when the Service is not exposed outside the cluster, goes to stderr."""
    cluster, inv = find(req, ctx)
    found = build_endpoints(cluster, inv, service_urls(ctx.env))
    if not found:
        raise ForgeError(f"{inv.build_name}: it has no Service with ports to reach")
    best = found[0]
    if best.command:
        ctx.out.info(f"{best.service} is not exposed outside the cluster; first run: {best.command}")
    ctx.out.result(best.url, {"service": inv.service, "profile": inv.profile, "name": inv.build_name, "url": best.url,
                              "via": f"Service/{best.service}", "first_run": best.command})
    return best.url
