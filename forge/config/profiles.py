"""Which profile a service is deployed in, and the build name that follows from it."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forge.config.workspace import display_path
from forge.errors import ForgeError
from forge.model import DNS_LABEL, Service

CANARY = "canary"
DEFAULT = "default"
TRUTHY = frozenset({"1", "true", "yes", "on"})
FALSY = frozenset({"", "0", "false", "no", "off"})
MAX_NAME = 63  # object names forge derives (Services, Deployments) are DNS labels


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


def current_branch(start: Path, env: Mapping[str, str], override: str | None = None) -> str | None:
    """The branch a service is deployed from: `--branch`, else FORGE_BRANCH, else the git work tree's (None when
    detached or not in git)."""
    return override or env.get("FORGE_BRANCH") or git_branch(start)


# What git refuses in a branch name (git check-ref-format), in words: a glob whose literal text has one of these
# can match no branch.
_NEVER_IN_BRANCH = (
    (re.compile(r"[\x00-\x20\x7f]"), "a space or control character"),
    (re.compile(r"[~^:\\[]"), "'~', '^', ':', '[' or a backslash"),
    (re.compile(r"\.\.|@\{|//"), "'..', '@{' or '//'"),
    (re.compile(r"^[/-]"), "'/' or '-' at the start"),
    (re.compile(r"/$|\.$|\.lock$"), "'/', '.' or '.lock' at the end"),
    (re.compile(r"(^|/)\."), "a part that starts with '.'"),
)


def glob_problem(glob: str) -> str | None:
    """Why `glob` can match no git branch name, or None. Only its literal text is checked: `*`, `?` and `[...]`
    may stand for anything git allows (a `[` that no `]` closes is literal)."""
    if not glob:
        return "matches no branch: it is empty"
    literal = re.split(r"\*|\?|\[[^\]]*\]", glob)
    for index, part in enumerate(literal):
        # A literal at the start (end) of the glob is at the start (end) of the branch; a wildcard stands for "x".
        checked = ("" if index == 0 else "x") + part + ("" if index == len(literal) - 1 else "x")
        for pattern, words in _NEVER_IN_BRANCH:
            if pattern.search(checked):
                return f"matches no branch: git branch names cannot have {words}"
    return None


@dataclass(frozen=True)
class Requested:
    """The profile asked for on the command line or in the environment, and where it came from."""

    name: str
    source: str  # "--profile", "FORGE_PROFILE" or "CANARY" (--canary, CANARY=true)

    @property
    def may_copy(self) -> bool:
        """An explicit --profile may name a profile no service declares: a separate copy `<service>-<profile>`."""
        return self.source == "--profile" and self.name != CANARY


def requested_profile(profile: str | None, canary: bool, env: Mapping[str, str]) -> Requested | None:
    """--profile; FORGE_PROFILE; --canary / CANARY=true|1|yes|on -> canary; else None (branches, then default)."""
    from_env = canary_requested(env)  # checked even when not consulted: a typo is always an error
    if profile:
        return Requested(profile, "--profile")
    if env.get("FORGE_PROFILE"):
        return Requested(env["FORGE_PROFILE"], "FORGE_PROFILE")
    return Requested(CANARY, "CANARY") if canary or from_env else None


def canary_requested(env: Mapping[str, str]) -> bool:
    """CANARY=true|1|yes|on; false|0|no|off or unset: no. Anything else is an error: a typo must not deploy the
    canary's code as the stable service."""
    value = env.get("CANARY", "")
    if value.strip().lower() in TRUTHY:
        return True
    if value.strip().lower() in FALSY:
        return False
    raise ForgeError(f"CANARY={value}: expected true, 1, yes or on (canary) or false, 0, no or off (not)")


def matching_glob(branches: Mapping[str, str], branch: str | None) -> str | None:
    """The first glob of `branches` that matches `branch` (a bare `*` is tried last: it is the default); None
    without a branch or a match."""
    if branch is None:
        return None
    globs = sorted(branches, key=lambda glob: glob == "*")  # stable: file order otherwise
    return next((glob for glob in globs if fnmatch.fnmatchcase(branch, glob)), None)


def branch_profile(service: Service) -> str | None:
    """The profile `branches` gives the service's branch; None without a branch or a match."""
    glob = matching_glob(service.branches, service.branch)
    return None if glob is None else service.branches[glob]


def choose_profile(
    service: Service,
    *,
    profile: str | None = None,
    canary: bool = False,
    env: Mapping[str, str],
) -> str:
    """--profile / FORGE_PROFILE; --canary / CANARY=true|1|yes -> canary; the service's branch through `branches`;
    default. A profile service.yaml does not declare is a separate copy when it comes from `branches` or from
    --profile; otherwise (FORGE_PROFILE, CANARY, a canary from anywhere) it is an error: a typo must not deploy."""
    requested = requested_profile(profile, canary, env)
    if requested is None:
        chosen = branch_profile(service) or DEFAULT
        if chosen != CANARY or has_profile(service, chosen):
            return chosen
        requested = Requested(CANARY, f"branches ({service.branch})")
    if has_profile(service, requested.name) or requested.may_copy:
        return requested.name
    known = ", ".join(sorted({DEFAULT, *service.profiles}))
    hint = (f"to deploy a separate copy named {service.name}-{requested.name}, pass --profile {requested.name}"
            if requested.source == "FORGE_PROFILE" else None)
    raise ForgeError(
        f"{display_path(service.descriptor_path)}: profile {requested.name!r} is not defined (profiles: {known})",
        hint=hint,
    )


def has_profile(service: Service, profile: str) -> bool:
    """`default` always exists; any other profile, `canary` included, only when service.yaml defines it."""
    return profile == DEFAULT or profile in service.profiles


def profile_values(service: Service, profile: str) -> dict[str, Any]:
    """What templates see as build.profile: the profile's map with `name` = the profile's name. A profile
    service.yaml does not declare (a copy) has the default profile's values."""
    values = service.profiles.get(profile, service.profiles.get(DEFAULT, {}))
    return {**values, "name": profile}


def build_name(service: Service, profile: str) -> str:
    """The profile's `name` if it sets one; the service name in `default`; else `<service>-<profile>` (qotm-canary,
    qotm-alice): each profile is a copy of its own beside the others."""
    configured = service.profiles.get(profile, {}).get("name")
    if configured:
        return configured
    if profile == DEFAULT:
        return service.name
    if not re.match(DNS_LABEL, profile):
        raise ForgeError(f"profile {profile!r} is not a DNS label (lowercase letters, digits and '-', at most 63 "
                         "characters): a copy is named <service>-<profile>")
    name = f"{service.name}-{profile}"
    if len(name) > MAX_NAME:
        raise ForgeError(f"{display_path(service.descriptor_path)}: profile {profile!r}: the build name {name!r} is "
                         f"longer than {MAX_NAME} characters")
    return name
