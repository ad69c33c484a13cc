"""Which profile a service is deployed in, and the build name that follows from it."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from forge.config.workspace import display_path
from forge.errors import ForgeError
from forge.model import Service

CANARY = "canary"
DEFAULT = "default"
TRUTHY = frozenset({"1", "true", "yes", "on"})
FALSY = frozenset({"", "0", "false", "no", "off"})


def git_branch(start: Path) -> str | None:
    """The checked-out branch of the git work tree enclosing `start` (read from HEAD; no git binary needed)."""
    for directory in (start, *start.parents):
        dotgit = directory / ".git"
        if dotgit.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = dotgit.read_text(encoding="utf-8", errors="replace").strip()
            dotgit = (directory / text.removeprefix("gitdir:").strip()).resolve()
        head = dotgit / "HEAD"
        if head.is_file():
            ref = head.read_text(encoding="utf-8", errors="replace").strip()
            return ref.removeprefix("ref: refs/heads/") if ref.startswith("ref: refs/heads/") else None
    return None


def requested_profile(profile: str | None, canary: bool, env: Mapping[str, str]) -> str | None:
    """The profile asked for: --profile / FORGE_PROFILE; else --canary / CANARY=true|1|yes -> canary; else None."""
    from_env = canary_requested(env)  # checked even when not consulted: a typo is always an error
    chosen = profile or env.get("FORGE_PROFILE") or None
    if chosen is None and (canary or from_env):
        chosen = CANARY
    return chosen


def canary_requested(env: Mapping[str, str]) -> bool:
    """CANARY=true|1|yes|on; false|0|no|off or unset: no. Anything else is an error: a typo must not deploy the
    canary's code as the stable service."""
    value = env.get("CANARY", "")
    if value.strip().lower() in TRUTHY:
        return True
    if value.strip().lower() in FALSY:
        return False
    raise ForgeError(f"CANARY={value}: expected true, 1, yes or on (canary) or false, 0, no or off (not)")


def choose_profile(
    service: Service,
    *,
    profile: str | None = None,
    canary: bool = False,
    env: Mapping[str, str],
    branch: str | None = None,
) -> str:
    """--profile / FORGE_PROFILE; --canary / CANARY=true|1|yes -> canary; first matching `branches` glob; default.
    A profile other than `default` that service.yaml does not define is an error."""
    chosen = requested_profile(profile, canary, env)
    if chosen is None and service.branches:
        current = branch if branch is not None else git_branch(service.root)
        if current is not None:
            chosen = next((p for glob, p in service.branches.items() if fnmatch.fnmatchcase(current, glob)), None)
    chosen = chosen or DEFAULT
    if not has_profile(service, chosen):
        known = ", ".join(sorted({DEFAULT, *service.profiles}))
        raise ForgeError(
            f"{display_path(service.descriptor_path)}: profile {chosen!r} is not defined (profiles: {known})"
        )
    return chosen


def has_profile(service: Service, profile: str) -> bool:
    """`default` always exists; any other profile, `canary` included, only when service.yaml defines it."""
    return profile == DEFAULT or profile in service.profiles


def profile_values(service: Service, profile: str) -> dict[str, Any]:
    """What templates see as build.profile: the profile's map with `name` = the profile's name."""
    return {**service.profiles.get(profile, {}), "name": profile}


def build_name(service: Service, profile: str) -> str:
    """The profile's `name` if it sets one; `<service>-canary` in the canary profile; else the service name."""
    configured = service.profiles.get(profile, {}).get("name")
    if configured:
        return configured
    return f"{service.name}-{CANARY}" if profile == CANARY else service.name
