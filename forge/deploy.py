"""`forge deploy` and `forge canary promote`: plan -> render -> validate -> build/push -> dry run -> apply -> prune
-> wait -> where to reach it. Nothing is applied when any step before the apply fails."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from forge.builds import plan, unique_images
from forge.cluster.apply import Applied, apply, describe_dry_run, prepare
from forge.cluster.endpoints import Endpoint, endpoints
from forge.cluster.inventory import Inventory
from forge.cluster.kube import Cluster, ObjectRef, connect
from forge.cluster.listing import deployed
from forge.cluster.prune import delete_build
from forge.cluster.wait import Waiter
from forge.config.profiles import CANARY
from forge.config.workspace import load_workspace
from forge.errors import ForgeError
from forge.images.build import ensure_images
from forge.manifests.render import render
from forge.manifests.validate import validate
from forge.model import Build, Image, Manifest, Workspace

Say = Callable[[str], None]
DEFAULT_TIMEOUT = 300.0


@dataclass
class Target:
    """Which cluster and namespace (flags; forge.yaml's namespace applies when -n is not given)."""

    context: str | None = None
    namespace: str | None = None

    def connect(self, workspace: Workspace) -> Cluster:
        return connect(context=self.context, namespace=self.namespace or workspace.namespace)


@dataclass
class DeployRequest:
    path: Path
    target: Target = field(default_factory=Target)
    profile: str | None = None
    canary: bool = False
    overrides: Mapping[str, Any] | None = None
    build_args: Mapping[str, str] | None = None
    dry_run: bool = False
    timeout: float = DEFAULT_TIMEOUT
    docker_client: Any = None  # for tests; None: from the environment
    progress: TextIO | None = None  # where build progress goes (default stdout)


def deploy(req: DeployRequest, say: Say) -> list[Applied]:
    workspace = load_workspace(req.path)
    try:
        cluster, kube_version = _reach(req.target, workspace, say)
    except ForgeError as exc:
        if not req.dry_run:
            raise
        say(f"no cluster: {exc} (skipping the server-side dry run)")
        cluster, kube_version = None, None
    registry = workspace.registry or (cluster.local_registry() if cluster else None)
    namespace = cluster.namespace if cluster else req.target.namespace or workspace.namespace
    builds = plan(req.path, profile=req.profile, canary=req.canary, namespace=namespace, registry=registry,
                  overrides=req.overrides, build_args=req.build_args, workspace=workspace)
    pairs = render_and_validate(builds, kube_version, say)
    if not req.dry_run:
        images = unique_images(builds)
        if images:
            say(f"images: {len(images)} (registry: {registry or 'none, local engine only'})")
        ensure_images(images, registry=registry, concurrency=workspace.concurrency, client=req.docker_client,
                      out=req.progress)
    if cluster is None:
        say(f"dry run: {sum(len(m) for _, m in pairs)} objects rendered and validated; no cluster to dry-run against")
        return []
    plans = prepare(cluster, pairs)
    if req.dry_run:
        describe_dry_run(plans, say)
        say("dry run: nothing was built, pushed or applied")
        return []
    results = apply(cluster, plans, say)
    finish(cluster, results, req.timeout, say)
    return results


def promote(service: str, path: Path, target: Target, *, profile: str | None, timeout: float, say: Say) -> Applied:
    """Deploy the canary's images and version as the stable profile, wait, then delete the canary."""
    workspace = load_workspace(path)
    cluster, kube_version = _reach(target, workspace, say)
    canary = deployed(cluster, service, CANARY)
    stable_env = {k: v for k, v in os.environ.items()
                  if k != "CANARY" and not (k == "FORGE_PROFILE" and v == CANARY)}
    builds = [
        b for b in plan(path, profile=profile, namespace=cluster.namespace, registry=workspace.registry,
                        env=stable_env, workspace=workspace)
        if b.service.name == service
    ]
    if not builds:
        raise ForgeError(f"{service}: no such service under {path} (run promote from the workspace)")
    if builds[0].profile == CANARY:
        raise ForgeError(f"{service}: cannot promote the canary onto itself; pass --profile for the stable profile")
    build = with_images_of(builds[0], canary)
    say(f"promoting {canary.build_name} (version {canary.version}) to {build.name} (profile {build.profile})")
    pairs = render_and_validate([build], kube_version, say)
    results = apply(cluster, prepare(cluster, pairs), say)
    finish(cluster, results, timeout, say)
    say(f"deleting {canary.build_name}")
    delete_build(cluster, canary, say)
    return results[0]


def with_images_of(build: Build, canary: Inventory) -> Build:
    """`build` with the canary's image references and version (the images the canary runs, already pushed)."""
    images: dict[str, Image] = {}
    for image in {id(i): i for i in build.images.values()}.values():
        ref = canary.images.get(image.container.name)
        if ref is None:
            raise ForgeError(f"{build.service.name}: the canary has no image for container {image.container.name} "
                             "(the service changed since; deploy the canary again)")
        promoted = dataclasses.replace(image, ref=ref, version=ref.rsplit(":", 1)[-1])
        images[image.container.key] = images[image.container.name] = promoted
    return dataclasses.replace(build, images=images, version=canary.version)


def render_and_validate(
    builds: Sequence[Build], kube_version: str | None, say: Say
) -> list[tuple[Build, list[Manifest]]]:
    manifests = render(builds)
    for warning in validate(manifests, kube_version):
        say(f"warning: {warning}")
    return [(b, [m for m in manifests if m.build is b]) for b in builds]


def finish(cluster: Cluster, results: Sequence[Applied], timeout: float, say: Say) -> None:
    """Wait for the rollout, then say where to reach what was deployed."""
    refs = [ref for r in results for ref in _refs(r)]
    Waiter(cluster, say).wait(refs, timeout)
    for result in results:
        for found in result_endpoints(cluster, result):
            say(f"{result.build.name}: reach {found}")


def result_endpoints(cluster: Cluster, result: Applied) -> list[Endpoint]:
    services = [o for o in result.objects if o.get("kind") == "Service"]
    return endpoints(cluster, services, preferred=result.build.name)


def _refs(result: Applied) -> list[ObjectRef]:
    return [
        ObjectRef(o["apiVersion"], o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
        for o in result.objects
    ]


def _reach(target: Target, workspace: Workspace, say: Say) -> tuple[Cluster, str | None]:
    """Connect, print the target, and prove the cluster answers: (cluster, its Kubernetes version)."""
    cluster = target.connect(workspace)
    say(cluster.target())
    return cluster, cluster.server_version()
