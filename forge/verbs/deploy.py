"""`forge deploy` and `forge build`: plan -> render -> validate -> build/push -> dry run -> apply -> prune -> wait ->
where to reach it. Nothing is applied when any step before the apply fails.

The outside world comes in through `Backends` (Skaffold's runner wiring its builder and deployer): the cluster
(forge.cluster.ClusterAPI), the image engine and the registries (forge.images.ImageEngine, ImageStore). The real
ones by default; the unit tests pass in-memory fakes (tests/forge/fakes.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from forge.cluster import ClusterAPI, kube
from forge.cluster.apply import Applied, apply, describe_dry_run, prepare
from forge.cluster.endpoints import Endpoint, endpoints
from forge.cluster.kube import ObjectRef
from forge.cluster.wait import Waiter
from forge.config.schema import check
from forge.config.workspace import SCHEMA, load_workspace
from forge.errors import ForgeError
from forge.images import ImageEngine, ImageStore
from forge.images.builders import connect_engine
from forge.images.engine import ImageResult, ensure_images
from forge.images.registry import registry_store
from forge.manifests.render import render
from forge.manifests.validate import validate
from forge.model import Build, Image, Manifest, Workspace
from forge.plan import plan, unique_images

Say = Callable[[str], None]
DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class Backends:
    """Where forge reaches the cluster, builds images and looks into registries (each made only when needed)."""

    connect: Callable[..., ClusterAPI] = kube.connect  # connect(context=..., namespace=...)
    engine: Callable[[], ImageEngine] = connect_engine  # BuildKit or the classic builder (FORGE_BUILDER)
    store: Callable[[str | None], ImageStore | None] = registry_store  # a forge.yaml registry -> its store
    poll: float = 1.0  # seconds between rollout checks


REAL = Backends()


@dataclass
class Target:
    """Which cluster and namespace (flags; forge.yaml's namespace applies when -n is not given)."""

    context: str | None = None
    namespace: str | None = None

    def connect(self, workspace: Workspace, backends: Backends = REAL) -> ClusterAPI:
        return backends.connect(context=self.context, namespace=self.namespace or workspace.namespace)

    def connect_here(self, backends: Backends = REAL) -> ClusterAPI:
        """The cluster, with the namespace of the forge.yaml around the current directory."""
        return self.connect(load_workspace(Path.cwd()), backends)


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
    backends: Backends = REAL
    progress: TextIO | None = None  # where build progress goes (default stdout)


def deploy(req: DeployRequest, say: Say) -> list[Applied]:
    workspace = load_workspace(req.path)
    try:
        cluster, kube_version = reach(req.target, workspace, req.backends, say)
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
        publish(unique_images(builds), registry, workspace.concurrency, req.backends, say, req.progress)
    if cluster is None:
        say(f"dry run: {sum(len(m) for _, m in pairs)} objects rendered and validated; no cluster to dry-run against")
        return []
    plans = prepare(cluster, pairs)
    if req.dry_run:
        describe_dry_run(plans, say)
        say("dry run: nothing was built, pushed or applied")
        return []
    results = apply(cluster, plans, say)
    finish(cluster, results, req.timeout, say, req.backends.poll)
    return results


def build(path: Path, *, profile: str | None, canary: bool, build_args: Mapping[str, str], registry: str | None,
          say: Say, progress: TextIO | None = None, backends: Backends = REAL) -> list[ImageResult]:
    """`forge build`: the images `forge deploy` would use, built and pushed (to `registry`, else forge.yaml's)."""
    workspace = load_workspace(path)
    if registry:
        check(registry, SCHEMA["properties"]["registry"], "--registry")
    registry = registry or workspace.registry
    builds = plan(path, profile=profile, canary=canary, registry=registry, build_args=build_args, workspace=workspace)
    images = unique_images(builds)
    if not images:
        say(f"nothing to build: no service under {path} has a container")
    return publish(images, registry, workspace.concurrency, backends, say, progress)


def publish(images: Sequence[Image], registry: str | None, concurrency: int, backends: Backends, say: Say,
            progress: TextIO | None) -> list[ImageResult]:
    """Build what is missing and push it; the engine is reached only when there is an image."""
    if not images:
        return []
    say(f"images: {len(images)} (registry: {registry or 'none, local engine only'})")
    return ensure_images(images, engine=backends.engine(), store=backends.store(registry), concurrency=concurrency,
                         out=progress)


def render_and_validate(
    builds: Sequence[Build], kube_version: str | None, say: Say
) -> list[tuple[Build, list[Manifest]]]:
    manifests = render(builds)
    for warning in validate(manifests, kube_version):
        say(f"warning: {warning}")
    return [(b, [m for m in manifests if m.build is b]) for b in builds]


def finish(cluster: ClusterAPI, results: Sequence[Applied], timeout: float, say: Say, poll: float = 1.0) -> None:
    """Wait for the rollout, then say where to reach what was deployed."""
    refs = [ref for r in results for ref in _refs(r)]
    Waiter(cluster, say, poll=poll).wait(refs, timeout)
    for result in results:
        for found in result_endpoints(cluster, result):
            say(f"{result.build.name}: reach {found}")


def result_endpoints(cluster: ClusterAPI, result: Applied) -> list[Endpoint]:
    services = [o for o in result.objects if o.get("kind") == "Service"]
    return endpoints(cluster, services, preferred=result.build.name)


def _refs(result: Applied) -> list[ObjectRef]:
    return [
        ObjectRef(o["apiVersion"], o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
        for o in result.objects
    ]


def reach(target: Target, workspace: Workspace, backends: Backends, say: Say) -> tuple[ClusterAPI, str | None]:
    """Connect, print the target, and prove the cluster answers: (cluster, its Kubernetes version)."""
    cluster = target.connect(workspace, backends)
    say(cluster.target())
    return cluster, cluster.server_version()
