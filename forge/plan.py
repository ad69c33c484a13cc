"""The plan: which services, in which order, in which profile, with which image versions -> list[Build]."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forge.config.descriptor import load_service
from forge.config.discover import discover, select
from forge.config.profiles import (
    CANARY,
    Requested,
    build_name,
    choose_profile,
    has_profile,
    profile_values,
    requested_profile,
)
from forge.config.workspace import display_path, load_workspace
from forge.errors import ForgeError
from forge.images.version import combined_version, container_version
from forge.manifests.sources import config_version
from forge.model import Build, Image, Service, Workspace

DEFAULT_NAMESPACE = "default"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanRequest:
    """Which builds a command works on (render, deploy, build, dev): the services under `path`, in one profile, with
    `--set` overrides and `--build-arg`s. The verbs' requests extend it."""

    path: Path = Path(".")
    profile: str | None = None
    canary: bool = False
    overrides: Mapping[str, Any] | None = None
    build_args: Mapping[str, str] | None = None


def plan(
    path: Path | str,
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
    """Builds for every service under `path` (plus the services they require), in `requires` order.

    `namespace`/`registry` None: take them from forge.yaml (namespace falls back to "default"). `overrides` are
    dotted keys with already-parsed values (`--set`), applied to the services under `path`. `build_args` are added
    to every container's build args, after forge.yaml's `build_args` and the container's own `args`. `branch`
    (--branch) replaces FORGE_BRANCH and git's branch for service.yaml and `branches`.
    """
    path = Path(path)
    if not path.exists():
        raise ForgeError(f"{path}: no such file or directory")
    env = os.environ if env is None else env
    workspace = workspace or load_workspace(path, env)
    selection = select(path, workspace.root)
    load = functools.partial(load_service, env=env, branch=branch)
    services = _unique([load(d, overrides) for d in selection.services])
    _check_overrides_used(overrides or {}, services, path)
    services = order_by_requires(_with_requirements(services, workspace, path, load))
    _check_unique_images(services)
    named = selection.named
    requested = requested_profile(profile, canary, env)
    kept = _with_profile(services, requested, named, path)
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


def _check_overrides_used(overrides: Mapping[str, Any], services: list[Service], path: Path) -> None:
    """Every --set key must have a place in at least one service.yaml under PATH: a typo is an error."""
    used = {key for s in services for key in s.overridden}
    for key in overrides:
        if key not in used:
            where = (display_path(services[0].descriptor_path) if len(services) == 1
                     else f"any of the {len(services)} service.yaml files under {display_path(path)}")
            raise ForgeError(f"--set {key}: no such field in {where}")


def _with_profile(services: list[Service], requested: Requested | None, named: Path | None,
                  path: Path) -> list[Service]:
    """Skip (with one line each) the services that lack the requested profile, except the one PATH names:
    `CANARY=true forge deploy` at the root deploys the canaries there are; `forge deploy auth --canary` fails.
    A --profile that no service here declares is a copy of each of them (`forge deploy --profile alice`)."""
    if requested is None:
        return services
    kept = [s for s in services if has_profile(s, requested.name) or s.descriptor_path == named]
    if requested.may_copy and not any(has_profile(s, requested.name) for s in services):
        return services
    if not kept:
        hint = (f"for a separate copy of each service (<service>-{requested.name}), pass --profile "
                f"{requested.name}" if requested.source == "FORGE_PROFILE" else None)
        raise ForgeError(f"{display_path(path)}: no service here has a {requested.name} profile", hint=hint)
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


def _with_requirements(services: list[Service], workspace: Workspace, path: Path,
                       load: Callable[[Path], Service]) -> list[Service]:
    """Add the services required (transitively) by `services` that live elsewhere in the workspace (the root and
    nested services included; not in other workspaces below it, except the one PATH is in)."""
    by_name = {s.name: s for s in services}
    if all(r in by_name for s in services for r in s.requires):
        return services
    found = discover(workspace.root, workspace.root, enter=path).services
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
