"""Find the services (directories with a service.yaml) under a path, the way git would see the tree."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from forge.config.workspace import CONFIG_NAME, display_path
from forge.errors import ForgeError

DESCRIPTOR_NAME = "service.yaml"
IGNORE_FILES = (".gitignore", ".forgeignore")
# A directory holding one of these is a workspace of its own (its own settings): discovery does not walk into it.
WORKSPACE_MARKERS = (CONFIG_NAME, ".git")
# Never services: dependencies, caches and build output (hidden directories and virtualenvs are skipped too).
SKIPPED_DIR_NAMES = frozenset({"node_modules", "__pycache__", "site-packages", "build", "dist"})
log = logging.getLogger(__name__)
_K8S_OBJECT = re.compile(r"^apiVersion\s*:.*^kind\s*:|^kind\s*:.*^apiVersion\s*:", re.MULTILINE | re.DOTALL)


def _is_file(path: Path) -> bool:
    """Path.is_file, but False (not an exception) inside a directory this user may not read."""
    try:
        return path.is_file()
    except OSError:
        return False


def is_skipped_dir(path: Path) -> bool:
    name = path.name
    return (
        name.startswith(".")
        or name in SKIPPED_DIR_NAMES
        or name.endswith(".egg-info")
        or _is_file(path / "pyvenv.cfg")
    )


def is_kubernetes_object(descriptor: Path) -> bool:
    """A service.yaml that is a Kubernetes manifest (top-level apiVersion and kind), e.g. k8s/service.yaml.

    Checked on the text so that a Jinja template that is not yet valid YAML is recognised too.
    """
    try:
        return bool(_K8S_OBJECT.search(descriptor.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def is_service_dir(path: Path) -> bool:
    descriptor = path / DESCRIPTOR_NAME
    return _is_file(descriptor) and not is_kubernetes_object(descriptor)


class _Ignores:
    """The .gitignore/.forgeignore rules in force in one directory (deeper files take precedence)."""

    def __init__(self, specs: tuple[tuple[Path, pathspec.GitIgnoreSpec], ...] = ()):
        self.specs = specs

    def enter(self, directory: Path) -> _Ignores:
        lines: list[str] = []
        for name in IGNORE_FILES:
            candidate = directory / name
            if _is_file(candidate):
                lines += candidate.read_text(encoding="utf-8", errors="replace").splitlines()
        if not lines:
            return self
        return _Ignores((*self.specs, (directory, pathspec.GitIgnoreSpec.from_lines(lines))))

    def ignored(self, path: Path, is_dir: bool) -> bool:
        for base, spec in reversed(self.specs):
            relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
            verdict = spec.check_file(relative).include
            if verdict is not None:
                return verdict
        return False


def _ignores_above(start: Path, root: Path) -> _Ignores:
    """Rules from the workspace root down to (not including) `start`, plus the repository's info/exclude."""
    ignores = _Ignores()
    exclude = root / ".git" / "info" / "exclude"
    if exclude.is_file():
        spec = pathspec.GitIgnoreSpec.from_lines(exclude.read_text(encoding="utf-8", errors="replace").splitlines())
        ignores = _Ignores(((root, spec),))
    try:
        between = start.relative_to(root).parts
    except ValueError:
        return ignores
    directory = root
    for part in between:
        ignores = ignores.enter(directory)
        directory = directory / part
    return ignores


def names_one_service(path: Path) -> bool:
    """PATH is a service directory or its service.yaml: the user named that service."""
    path = Path(os.path.abspath(path))
    return is_service_dir(path) or (path.is_file() and path.name == DESCRIPTOR_NAME)


def enclosing_service(path: Path, root: Path) -> Path | None:
    """The service.yaml of the nearest service directory above `path`, not above the workspace root (the original
    Forge's upward search: `forge deploy` in qotm/static/ means qotm)."""
    here, top = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    if here != top and top not in here.parents:
        return None
    for directory in (here, *here.parents):
        if is_service_dir(directory):
            return directory / DESCRIPTOR_NAME
        if directory == top:
            break
    return None


def workspace_marker(directory: Path) -> str | None:
    """`forge.yaml` or `.git` when `directory` is the root of a workspace of its own, else None. A git submodule
    (its `.git` a file pointing into the enclosing repository's `.git/modules/`) is part of the enclosing project."""
    for name in WORKSPACE_MARKERS:
        marker = directory / name
        if os.path.lexists(marker) and not (name == ".git" and _is_submodule(marker)):
            return name
    return None


def _is_submodule(dotgit: Path) -> bool:
    if not _is_file(dotgit):
        return False
    try:
        text = dotgit.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "modules" in Path(text.strip().removeprefix("gitdir:").strip()).parts


@dataclass(frozen=True)
class Found:
    """What discovery found under a path."""

    services: list[Path] = field(default_factory=list)  # service.yaml files, by directory
    workspaces: list[Path] = field(default_factory=list)  # directories below with their own forge.yaml or .git


def discover(path: Path, root: Path, *, enter: Sequence[Path] = ()) -> Found:
    """service.yaml files at and under `path` (sorted), nested services included; given a service.yaml, just that
    service. Another workspace below `path` (a directory with its own forge.yaml or .git: another checkout, its
    own settings) is not walked into, unless it encloses one of `enter` (the workspace-wide lookup of `requires`
    enters the directories of the PATHs it started from)."""
    path = Path(os.path.abspath(path))
    if path.is_file():
        return Found([path] if path.name == DESCRIPTOR_NAME and not is_kubernetes_object(path) else [])
    keep = [Path(os.path.abspath(p)) for p in enter]
    found = Found()
    stack = [(path, _ignores_above(path, Path(os.path.abspath(root))))]
    while stack:
        directory, ignores = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as err:  # e.g. a database volume owned by another user: not a reason to stop
            log.warning("skipped %s: cannot read it (%s)", display_path(directory), err.strerror)
            continue
        ignores = ignores.enter(directory)
        for entry in entries:
            child = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                if ignores.ignored(child, is_dir=True) or is_skipped_dir(child):
                    continue
                if workspace_marker(child) and not any(k == child or child in k.parents for k in keep):
                    found.workspaces.append(child)
                else:
                    stack.append((child, ignores))
            elif (
                entry.name == DESCRIPTOR_NAME
                and not ignores.ignored(child, is_dir=False)
                and not is_kubernetes_object(child)
            ):
                found.services.append(child)
    found.services.sort(key=lambda p: p.parent.parts)  # a service before the services nested in it
    found.workspaces.sort()
    return found


@dataclass(frozen=True)
class Selection:
    """The services a command works on: those under PATH, or the service PATH is inside."""

    services: list[Path]  # service.yaml files
    start: Path  # PATH, or the directory of the service it is inside
    named: Path | None  # the service.yaml of the service PATH names (PATH is it, its directory or inside it)


def select(path: Path, root: Path) -> Selection:
    """Every service at or under PATH; with none there, the service PATH is inside (searching upward to the workspace
    root), with the services nested in it. A ForgeError when there is none, naming the other workspaces below PATH
    when that is why."""
    path = Path(os.path.abspath(path))
    found = discover(path, root)
    start, named = path, None
    if names_one_service(path):
        named = path if path.is_file() else path / DESCRIPTOR_NAME
    if not found.services and not found.workspaces:
        enclosing = enclosing_service(path, root)
        if enclosing is not None:
            start, named = enclosing.parent, enclosing
            found = discover(start, root)
    if not found.services:
        raise _nothing_found(path, found.workspaces)
    for other in found.workspaces:
        if workspace_marker(other) == CONFIG_NAME:
            log.warning("skipped %s: another workspace (its own %s); run forge there for its services",
                        display_path(other), CONFIG_NAME)
    return Selection(found.services, start, named)


def _nothing_found(path: Path, workspaces: list[Path]) -> ForgeError:
    if not workspaces:
        return ForgeError(f"{display_path(path)}: no service.yaml found")
    shown = [f"{display_path(w)} ({'forge.yaml' if workspace_marker(w) == CONFIG_NAME else 'git repository'})"
             for w in workspaces[:5]]
    more = f" and {len(workspaces) - 5} more" if len(workspaces) > 5 else ""
    return ForgeError(
        f"{display_path(path)}: no service.yaml in this workspace; below it are other workspaces, each with its own "
        f"settings: {', '.join(shown)}{more}",
        hint=f"run forge inside one of them, e.g. cd {display_path(workspaces[0])}",
    )
