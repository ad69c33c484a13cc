"""`forge build`: the images `forge deploy` would use, built and pushed; no cluster (for CI).

`publish` is the image step of `forge deploy` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from forge.config.schema import check
from forge.config.workspace import SCHEMA
from forge.context import Context
from forge.images.ensure import ImageResult, ensure_images
from forge.model import Image
from forge.plan import PlanRequest, plan, unique_images, workspace_of


@dataclass(frozen=True)
class BuildRequest(PlanRequest):
    registry: str | None = None  # --registry: push here instead of forge.yaml's registry


def build(req: BuildRequest, ctx: Context) -> list[ImageResult]:
    """Build what is missing and push it (to `registry`, else forge.yaml's); the image references are the product."""
    workspace = workspace_of(req.targets, ctx.env)
    if req.registry:
        check(req.registry, SCHEMA["properties"]["registry"], "--registry")
    registry = req.registry or workspace.registry
    builds = plan(req.targets, profile=req.profile, canary=req.canary, registry=registry, overrides=req.overrides,
                  build_args=req.build_args, env=ctx.env, branch=req.branch, workspace=workspace)
    images = unique_images(builds)
    if not images:
        ctx.out.info(f"nothing to build: no service under {', '.join(map(str, req.targets))} has a container")
    results = publish(images, registry, workspace.concurrency, ctx)
    for result in results:
        ctx.out.result(result.image.ref)
    return results


def publish(images: Sequence[Image], registry: str | None, concurrency: int, ctx: Context) -> list[ImageResult]:
    """Build what is missing and push it; the engine is reached only when there is an image."""
    if not images:
        return []
    ctx.out.info(f"images: {len(images)} (registry: {registry or 'none, local engine only'})")
    engine, store = ctx.engine(), ctx.store(registry)
    with ctx.out.progress() as progress:
        return ensure_images(images, engine=engine, store=store, concurrency=concurrency, progress=progress)
