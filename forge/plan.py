"""The plan: which services, in which order, in which profile, with which image versions -> list[Build]."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forge.config.descriptor import load_service
from forge.config.discover import discover, select
from forge.config.profiles import (
    CANARY,
    DEFAULT,
    Requested,
    build_name,
    choose_profile,
    has_profile,
    profile_values,
    requested_profile,
)
from forge.config.workspace import display_path, enclosing_workspace, find_workspace_root, load_workspace
from forge.errors import ForgeError, UsageError
from forge.images.version import combined_version, container_version
from forge.manifests.sources import config_version
from forge.model import DNS_LABEL, Build, Image, Service, Workspace

DEFAULT_NAMESPACE = "default"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanRequest:
    """Which builds a command works on (render, deploy, build, dev): the services under `path` (and under `more`
    paths, or named by them), in one profile, with `--set` overrides and `--build-arg`s. The verbs' requests extend
    it."""

    path: Path | str = Path(".")
    profile: str | None = None
    canary: bool = False
    overrides: Mapping[str, Any] | None = None
    build_args: Mapping[str, str] | None = None
    more: tuple[Path | str, ...] = ()  # `forge deploy a b c`: b and c
    branch: str | None = None  # --branch: instead of FORGE_BRANCH and git's branch

    @property
    def targets(self) -> list[Path | str]:
        return [self.path, *self.more]


def workspace_of(targets: Sequence[Path | str], env: Mapping[str, str]) -> Workspace:
    """The workspace the targets are in (that of the first existing path, else of the current directory)."""
    return load_workspace(_first_path(targets), env)


def plan(
    targets: Path | str | Sequence[Path | str],
    *,
    profile: str | None = None,
    canary: bool = False,
    namespace: str | None = None,
    registry: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    build_args: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    branch: str | None = None,
    workspace: Workspace | None = None,
) -> list[Build]:
    """Builds for every service under the target paths, or named by the targets (plus the services they require),
    in `requires` order: one plan, as if each target were deployed in turn.

    A target is a path (a service directory, its service.yaml, a directory above services) or, when no such path
    exists, a service name of the workspace. All targets must be in one workspace. `namespace`/`registry` None: take
    them from forge.yaml (namespace falls back to "default"). `overrides` are dotted keys with already-parsed values
    (`--set`), applied to the services the targets select. `build_args` are added to every container's build args,
    after forge.yaml's `build_args` and the container's own `args`. `branch` (--branch) replaces FORGE_BRANCH and
    git's branch for service.yaml and `branches`.
    """
    targets = [targets] if isinstance(targets, str | os.PathLike) else list(targets)
    env = os.environ if env is None else env
    load = functools.partial(load_service, env=env, branch=branch)
    workspace = workspace or workspace_of(targets, env)
    chosen = _chosen(targets, workspace, load)
    where = ", ".join(display_path(Path(t)) if os.path.exists(t) else str(t) for t in targets)
    services = _unique([load(d, overrides) for d in chosen.services])
    _check_overrides_used(overrides or {}, services, where)
    services = order_by_requires(_with_requirements(services, workspace, chosen.starts, load))
    _check_unique_images(services)
    requested = requested_profile(profile, canary, env)
    kept = _with_profile(services, requested, chosen.named, where)
    registry = registry if registry is not None else workspace.registry
    builds = [
        _build(
            service,
            profile=choose_profile(service, profile=profile, canary=canary, env=env),
            namespace=namespace or workspace.namespace or DEFAULT_NAMESPACE,
            registry=registry,
            build_args=workspace.build_args,
            extra_args=build_args or {},
            workspace=workspace,
        )
        for service in kept
    ]
    for service in (s for s in services if s not in kept):  # said once the named service's profile is known good
        log.warning("skipped %s: %s has no %s profile", service.name, display_path(service.descriptor_path),
                    requested.name if requested else None)
    return builds


@dataclass(frozen=True)
class _Chosen:
    services: list[Path]  # service.yaml files, in target order, each once
    starts: list[Path]  # where each target starts (requires look into other workspaces only above these)
    named: set[Path]  # the service.yaml files the targets name one by one


def _first_path(targets: Sequence[Path | str]) -> Path:
    """Where the workspace is looked for: the first target that exists, else the current directory."""
    return next((Path(t) for t in targets if os.path.exists(t)), Path.cwd())


def _chosen(targets: Sequence[Path | str], workspace: Workspace, load: Callable[[Path], Service]) -> _Chosen:
    """The services the targets select: paths through discovery, names looked up in the workspace."""
    services: dict[Path, None] = {}
    starts: list[Path] = []
    named: set[Path] = set()
    for target in targets:
        if os.path.exists(target):
            _same_workspace(Path(target), workspace)
            selection = select(Path(target), workspace.root)
            services.update(dict.fromkeys(selection.services))
            starts.append(selection.start)
            named.update([selection.named] if selection.named else [])
        else:
            descriptor = _service_named(str(target), workspace, load)
            services[descriptor] = None
            starts.append(descriptor.parent)
            named.add(descriptor)
    return _Chosen(list(services), starts, named)


def _same_workspace(path: Path, workspace: Workspace) -> None:
    """One plan has one workspace's settings (registry, namespace, build args): a path in another is an error."""
    root = find_workspace_root(path)
    if root != workspace.root:
        raise ForgeError(f"{display_path(path)}: in the workspace {display_path(root)}, not in "
                         f"{display_path(workspace.root)} like the first PATH",
                         hint="deploy each workspace's services with its own forge command")


def _service_named(name: str, workspace: Workspace, load: Callable[[Path], Service]) -> Path:
    """The service.yaml of the service called `name` in the workspace (a target that is not a path)."""
    if not re.match(DNS_LABEL, name):
        raise UsageError(f"{name}: no such file or directory")
    services = _services_by_name(workspace, load)
    if name not in services:
        known = ", ".join(sorted(services)) or "none"
        raise UsageError(f"{name}: no such file, directory or service in the workspace {display_path(workspace.root)}"
                         f" (services: {known})")
    return services[name].descriptor_path


def _services_by_name(workspace: Workspace, load: Callable[[Path], Service]) -> dict[str, Service]:
    """Every service of the workspace (and of the checkouts the current directory is in), by name."""
    found = discover(workspace.root, workspace.root, enter=[Path.cwd()]).services
    return {s.name: s for s in (load(d) for d in found)}


def meant_profile(service: str, profile: str | None, canary: bool, env: Mapping[str, str]) -> str:
    """The profile of the deployed `service` a command means (`forge delete`, `url`, `logs`, `port-forward`), chosen
    as deploy chooses it: --profile, FORGE_PROFILE, --canary / CANARY=true; else, when the workspace around the
    current directory has the service, its `branches` for the current branch (FORGE_BRANCH, else git's): on a
    branch deployed as a copy, `forge delete web` removes that copy, not the default one; else default."""
    requested = requested_profile(profile, canary, env)
    if requested:
        return requested.name
    root = enclosing_workspace(Path.cwd())
    found = _services_by_name(load_workspace(root, env), functools.partial(load_service, env=env)) if root else {}
    return choose_profile(found[service], env=env) if service in found else DEFAULT


def unique_images(builds: Sequence[Build]) -> list[Image]:
    """Every image of the builds once (two builds of one service share theirs)."""
    return list({image.ref: image for b in builds for image in b.images.values()}.values())


def image_ref(registry: str | None, name: str, version: str) -> str:
    return f"{registry.rstrip('/')}/{name}:{version}" if registry else f"{name}:{version}"


def _build(
    service: Service,
    *,
    profile: str,
    namespace: str,
    registry: str | None,
    build_args: Mapping[str, str],
    extra_args: Mapping[str, str],
    workspace: Workspace,
) -> Build:
    images: dict[str, Image] = {}
    versions: dict[str, str] = {}
    for container in service.containers:
        args = {**build_args, **container.args, **extra_args}
        version = container_version(container, args)
        image = Image(container=dataclasses.replace(container, args=args), version=version,
                      ref=image_ref(registry, container.name, version))
        images[container.key] = images[container.name] = image
        versions[container.name] = version
    return Build(
        service=service,
        profile=profile,
        profile_values=profile_values(service, profile),
        name=build_name(service, profile),
        canary=profile == CANARY,
        version=combined_version(versions) if versions else config_version(service),
        images=images,
        namespace=namespace,
        node_ports=workspace.node_ports,
        image_pull_secrets=workspace.image_pull_secrets,
    )


def _check_overrides_used(overrides: Mapping[str, Any], services: list[Service], where: str) -> None:
    """Every --set key must have a place in at least one service.yaml under PATH: a typo is an error."""
    used = {key for s in services for key in s.overridden}
    for key in overrides:
        if key not in used:
            files = (display_path(services[0].descriptor_path) if len(services) == 1
                     else f"any of the {len(services)} service.yaml files under {where}")
            raise ForgeError(f"--set {key}: no such field in {files}")


def _with_profile(services: list[Service], requested: Requested | None, named: set[Path],
                  where: str) -> list[Service]:
    """Skip (with one line each) the services that lack the requested profile, except the one PATH names:
    `CANARY=true forge deploy` at the root deploys the canaries there are; `forge deploy auth --canary` fails.
    A --profile that no service here declares is a copy of each of them (`forge deploy --profile alice`)."""
    if requested is None:
        return services
    kept = [s for s in services if has_profile(s, requested.name) or s.descriptor_path in named]
    if requested.may_copy and not any(has_profile(s, requested.name) for s in services):
        return services
    if not kept:
        hint = (f"for a separate copy of each service (<service>-{requested.name}), pass --profile "
                f"{requested.name}" if requested.source == "FORGE_PROFILE" else None)
        raise ForgeError(f"{where}: no service here has a {requested.name} profile", hint=hint)
    return kept


def _unique(services: list[Service]) -> list[Service]:
    seen: dict[str, Service] = {}
    for service in services:
        if service.name in seen:
            other = display_path(seen[service.name].descriptor_path)
            raise ForgeError(
                f"{display_path(service.descriptor_path)}: name: service {service.name!r} is also defined in {other}"
            )
        seen[service.name] = service
    return services


def _with_requirements(services: list[Service], workspace: Workspace, starts: Sequence[Path],
                       load: Callable[[Path], Service]) -> list[Service]:
    """Add the services required (transitively) by `services` that live elsewhere in the workspace (the root and
    nested services included; not in other workspaces below it, except the one PATH is in)."""
    by_name = {s.name: s for s in services}
    if all(r in by_name for s in services for r in s.requires):
        return services
    found = discover(workspace.root, workspace.root, enter=starts).services
    everywhere = {s.name: s for s in _unique([load(d) for d in found])}
    result, pending = list(services), list(services)
    while pending:
        service = pending.pop(0)
        for required in service.requires:
            if required in by_name:
                continue
            if required not in everywhere:
                raise ForgeError(
                    f"{display_path(service.descriptor_path)}: requires: unknown service {required!r}"
                )
            by_name[required] = everywhere[required]
            result.append(everywhere[required])
            pending.append(everywhere[required])
    return result


def order_by_requires(services: list[Service]) -> list[Service]:
    """Required services first; otherwise the given order. A cycle is an error naming it."""
    by_name = {s.name: s for s in services}
    ordered: list[Service] = []
    state: dict[str, str] = {}  # name -> "visiting" | "done"

    def visit(service: Service, trail: list[str]) -> None:
        if state.get(service.name) == "done":
            return
        if state.get(service.name) == "visiting":
            cycle = " -> ".join([*trail[trail.index(service.name) :], service.name])
            raise ForgeError(f"{display_path(service.descriptor_path)}: requires: cycle {cycle}")
        state[service.name] = "visiting"
        for required in service.requires:
            if required not in by_name:
                raise ForgeError(f"{display_path(service.descriptor_path)}: requires: unknown service {required!r}")
            visit(by_name[required], [*trail, service.name])
        state[service.name] = "done"
        ordered.append(service)

    for service in services:
        visit(service, [])
    return ordered


def _check_unique_images(services: list[Service]) -> None:
    owners: dict[str, Service] = {}
    for service in services:
        for container in service.containers:
            other = owners.setdefault(container.name, service)
            if other is not service:
                raise ForgeError(
                    f"{display_path(service.descriptor_path)}: containers: image name {container.name!r} "
                    f"is also used by {display_path(other.descriptor_path)}"
                )
