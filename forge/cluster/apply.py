"""Server-side apply of rendered manifests: dry run of everything first (and the Secrets and ConfigMaps its pods
need, forge.cluster.references), then apply in `requires` order, then prune.

Nothing of a deploy changes unless every object passed the server-side dry run (field manager "forge") and no
object belongs to another forge service or profile.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from forge.cluster import ClusterAPI, inventory, references
from forge.cluster.inventory import Inventory, stale
from forge.cluster.kube import ApiError, ObjectRef, ResourceType, kind_rank
from forge.cluster.prune import delete_owned
from forge.config.workspace import display_path
from forge.errors import ForgeError
from forge.model import LABEL_MANAGED_BY, LABEL_NAME, LABEL_PROFILE, MANAGER, Build, Manifest
from forge.output import Output


@dataclass
class Planned:
    """One manifest resolved against the cluster: where it goes and what was there before."""

    manifest: Manifest
    resource: ResourceType
    ref: ObjectRef
    body: dict[str, Any]
    existing: dict[str, Any] | None = None

    @property
    def path(self) -> str:
        return self.resource.path(self.ref.namespace or None, self.ref.name)


@dataclass
class BuildPlan:
    build: Build
    objects: list[Planned]
    previous: list[Inventory]  # inventories of this service+profile already in the namespace
    prune: list[ObjectRef] = field(default_factory=list)


@dataclass
class Applied:
    build: Build
    objects: list[dict[str, Any]]  # as the server returned them
    pruned: list[ObjectRef]


def resolve(cluster: ClusterAPI, manifest: Manifest) -> Planned:
    """Find the served resource and fix the namespace (set for namespaced kinds, dropped for cluster-scoped)."""
    try:
        resource = cluster.resource(manifest.api_version, manifest.kind)
    except ForgeError as exc:
        raise ForgeError(f"{manifest.ident()}: {exc.message}", f"from {display_path(manifest.source)}",
                         hint=exc.hint) from None
    body = copy.deepcopy(manifest.doc)
    meta = body.setdefault("metadata", {})
    if resource.namespaced:
        meta["namespace"] = manifest.namespace
    else:
        meta.pop("namespace", None)
    ref = ObjectRef(manifest.api_version, manifest.kind, meta.get("namespace", ""), manifest.name)
    return Planned(manifest, resource, ref, body)


def owner_conflict(planned: Planned) -> str | None:
    """Why forge must not take over the existing object, if it belongs to another forge service or profile."""
    labels = ((planned.existing or {}).get("metadata") or {}).get("labels") or {}
    if labels.get(LABEL_MANAGED_BY) != MANAGER:
        return None
    build = planned.manifest.build
    owner = (labels.get(LABEL_NAME), labels.get(LABEL_PROFILE))
    if owner == (build.service.name, build.profile):
        return None
    return (f"{planned.ref.ident()}: already deployed by forge for service {owner[0]} (profile {owner[1]}); "
            f"rename it in {display_path(planned.manifest.source)} or `forge delete` the other deployment")


def prepare(cluster: ClusterAPI, builds: Sequence[tuple[Build, Sequence[Manifest]]]) -> list[BuildPlan]:
    """Resolve, check ownership and server-side dry run EVERY object of the deploy; raise before anything changes."""
    namespaces = {m.namespace for _, manifests in builds for m in manifests} | {b.namespace for b, _ in builds}
    for namespace in sorted(namespaces):
        if cluster.get(f"/api/v1/namespaces/{namespace}") is None:
            raise ForgeError(f"namespace {namespace} does not exist in context {cluster.context}",
                             hint=f"create it: kubectl create namespace {namespace}")
    plans = []
    problems: list[tuple[Planned, str]] = []
    for build, manifests in builds:
        objects = sorted((resolve(cluster, m) for m in manifests), key=lambda p: kind_rank(p.ref.kind))
        for planned in objects:
            planned.existing = cluster.get(planned.path)
            conflict = owner_conflict(planned)
            if conflict:
                problems.append((planned, conflict))
                continue
            try:
                cluster.apply(planned.path, planned.body, dry_run=True)
            except ApiError as exc:
                problems.append((planned, f"{planned.ref.ident()}: {exc.explain()}"))
        previous = inventory.find(cluster, build.namespace, build.service.name, build.profile)
        recorded = [ref for inv in previous for ref in inv.objects]
        plans.append(BuildPlan(build, objects, previous, stale(recorded, [p.ref for p in objects])))
    hint = None
    if not problems:
        everything = [p for plan in plans for p in plan.objects]
        missing = references.Missing(cluster, [p.body for p in everything])
        for planned in everything:
            for problem, fix in missing(planned.body):
                problems.append((planned, problem))
                hint = hint or fix
    if problems:
        _, first = problems[0]
        more = f" (and {len(problems) - 1} more; -v lists them)" if len(problems) > 1 else ""
        detail = "\n".join(f"{msg}  [{display_path(p.manifest.source)}]" for p, msg in problems)
        raise ForgeError(f"{first}{more}; nothing was applied", detail, hint=hint)
    return plans


def apply(cluster: ClusterAPI, plans: Sequence[BuildPlan], out: Output) -> list[Applied]:
    """Apply checked plans in order, recording each build's inventory, and prune what the render no longer has."""
    results = []
    for plan in plans:
        build = plan.build
        out.info(f"{build.name}: applying {len(plan.objects)} objects (version {build.version})")
        current = [p.ref for p in plan.objects]
        # Record everything this deploy may leave behind before touching anything, so a failure part-way still
        # leaves every object findable by the next prune or delete.
        inventory.save(cluster, Inventory.of(build, current + plan.prune))
        applied = []
        for planned in plan.objects:
            try:
                result = cluster.apply(planned.path, planned.body)
            except ApiError as exc:
                raise ForgeError(f"{planned.ref.ident()}: {exc.explain()}",
                                 f"from {display_path(planned.manifest.source)}") from None
            out.info(f"  {planned.ref.ident()} {_change(planned.existing, result)}")
            applied.append(result)
        pruned = delete_owned(cluster, plan.prune, build.selector(), out) if plan.prune else []
        final = Inventory.of(build, current)
        inventory.save(cluster, final)
        for old in plan.previous:
            if old.configmap_name != final.configmap_name:
                inventory.remove(cluster, old)
        results.append(Applied(build, applied, pruned))
    return results


def describe_dry_run(plans: Sequence[BuildPlan], out: Output) -> None:
    for plan in plans:
        out.info(f"{plan.build.name}: would apply {len(plan.objects)} objects (version {plan.build.version})")
        for planned in plan.objects:
            out.info(f"  {planned.ref.ident()} {'would be configured' if planned.existing else 'would be created'}")
        for ref in plan.prune:
            out.info(f"  {ref.ident()} would be pruned")


def _change(before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    if before is None:
        return "created"
    same = (before.get("metadata") or {}).get("resourceVersion") == (after.get("metadata") or {}).get(
        "resourceVersion"
    )
    return "unchanged" if same else "configured"
