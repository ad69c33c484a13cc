"""`forge canary promote`: the canary's images and version become the stable build; then the canary goes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from forge.cluster import DEFAULT_TIMEOUT
from forge.cluster.apply import Applied, apply, prepare
from forge.cluster.endpoints import service_urls
from forge.cluster.inventory import Inventory
from forge.cluster.listing import deployed
from forge.cluster.prune import delete_build
from forge.cluster.rollout import finish
from forge.config.profiles import CANARY
from forge.config.workspace import load_workspace
from forge.context import Context
from forge.errors import ForgeError
from forge.model import Build, Image
from forge.plan import plan
from forge.verbs.render import render_and_validate


@dataclass(frozen=True)
class PromoteRequest:
    service: str
    path: Path = Path(".")  # the workspace or service directory holding SERVICE's templates
    profile: str | None = None  # the stable profile to promote into (default: as deploy picks it, ignoring CANARY)
    timeout: float = DEFAULT_TIMEOUT


def promote(req: PromoteRequest, ctx: Context) -> Applied:
    """Deploy the canary's images and version as the stable profile, wait, then delete the canary."""
    service, path = req.service, req.path
    workspace = load_workspace(path)
    cluster, kube_version = ctx.reach(workspace)
    canary = deployed(cluster, service, CANARY)
    stable_env = {k: v for k, v in ctx.env.items()
                  if k != "CANARY" and not (k == "FORGE_PROFILE" and v == CANARY)}
    builds = [
        b for b in plan(path, profile=req.profile, namespace=cluster.namespace, registry=workspace.registry,
                        env=stable_env, workspace=workspace)
        if b.service.name == service
    ]
    if not builds:
        raise ForgeError(f"{service}: no such service under {path}", hint="run promote from the workspace")
    if builds[0].profile == CANARY:
        raise ForgeError(f"{service}: cannot promote the canary onto itself",
                         hint="pass --profile for the stable profile")
    build = with_images_of(builds[0], canary)
    ctx.out.info(f"promoting {canary.build_name} (version {canary.version}) to {build.name} (profile {build.profile})")
    pairs = render_and_validate([build], kube_version, ctx.out)
    results = apply(cluster, prepare(cluster, pairs), ctx.out)
    finish(cluster, results, req.timeout, ctx.out, ctx.backends.poll, service_urls(ctx.env))
    ctx.out.info(f"deleting {canary.build_name}")
    delete_build(cluster, canary, ctx.out)
    return results[0]


def with_images_of(build: Build, canary: Inventory) -> Build:
    """`build` with the canary's image references and version (the images the canary runs, already pushed)."""
    images: dict[str, Image] = {}
    for image in {id(i): i for i in build.images.values()}.values():
        ref = canary.images.get(image.container.name)
        if ref is None:
            raise ForgeError(f"{build.service.name}: the canary has no image for container {image.container.name}: "
                             "the service changed since", hint="deploy the canary again")
        promoted = dataclasses.replace(image, ref=ref, version=ref.rsplit(":", 1)[-1])
        images[image.container.key] = images[image.container.name] = promoted
    return dataclasses.replace(build, images=images, version=canary.version)


