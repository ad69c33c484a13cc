"""Find the services (directories with a service.yaml) under a path, the way git would see the tree."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pathspec

from forge.config.workspace import display_path

DESCRIPTOR_NAME = "service.yaml"
IGNORE_FILES = (".gitignore", ".forgeignore")
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


def discover(path: Path, root: Path) -> list[Path]:
    """service.yaml files under `path` (sorted); a service directory or its service.yaml yields just that service."""
    path = Path(os.path.abspath(path))
    if path.is_file():
        return [path] if path.name == DESCRIPTOR_NAME and not is_kubernetes_object(path) else []
    if is_service_dir(path):
        return [path / DESCRIPTOR_NAME]
    found: list[Path] = []
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
                if not ignores.ignored(child, is_dir=True) and not is_skipped_dir(child):
                    stack.append((child, ignores))
            elif (
                entry.name == DESCRIPTOR_NAME
                and not ignores.ignored(child, is_dir=False)
                and not is_kubernetes_object(child)
            ):
                found.append(child)
    return sorted(found)
