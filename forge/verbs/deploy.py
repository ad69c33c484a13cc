"""`forge deploy`: plan -> render -> validate -> build/push -> dry run -> apply -> prune -> wait -> where to reach it.
Nothing is applied when any step before the apply fails.

The outside world (cluster, image engine, registries) comes in through the run context's backends
(forge/context.py); the unit tests pass in-memory fakes (tests/forge/fakes.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from forge.cluster import DEFAULT_TIMEOUT
from forge.cluster.apply import Applied, apply, describe_dry_run, prepare
from forge.cluster.endpoints import service_urls
from forge.cluster.rollout import finish
from forge.context import Context
from forge.errors import ForgeError
from forge.plan import PlanRequest, plan, unique_images, workspace_of
from forge.verbs.build import publish
from forge.verbs.render import render_and_validate


@dataclass(frozen=True)
class DeployRequest(PlanRequest):
    dry_run: bool = False
    timeout: float = DEFAULT_TIMEOUT


def deploy(req: DeployRequest, ctx: Context) -> list[Applied]:
    """What was applied, per build ([] for a dry run)."""
    out = ctx.out
    workspace = workspace_of(req.targets, ctx.env)
    try:
        cluster, kube_version = ctx.reach(workspace)
    except ForgeError as exc:
        if not req.dry_run:
            raise
        out.info(f"no cluster: {exc} (skipping the server-side dry run)")
        cluster, kube_version = None, None
    registry = workspace.registry or (cluster.local_registry() if cluster else None)
    namespace = cluster.namespace if cluster else ctx.target.namespace or workspace.namespace
    builds = plan(req.targets, profile=req.profile, canary=req.canary, namespace=namespace, registry=registry,
                  overrides=req.overrides, build_args=req.build_args, env=ctx.env, branch=req.branch,
                  workspace=workspace)
    pairs = render_and_validate(builds, kube_version, out)
    if not req.dry_run:
        publish(unique_images(builds), registry, workspace.concurrency, ctx)
    if cluster is None:
        out.info(f"dry run: {sum(len(m) for _, m in pairs)} objects rendered and validated; no cluster to dry-run "
                 "against")
        return []
    plans = prepare(cluster, pairs)
    if req.dry_run:
        describe_dry_run(plans, out)
        out.info("dry run: nothing was built, pushed or applied")
        return []
    results = apply(cluster, plans, out)
    finish(cluster, results, req.timeout, out, ctx.backends.poll, service_urls(ctx.env))
    return results
