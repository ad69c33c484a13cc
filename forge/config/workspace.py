"""The workspace: forge.yaml found by walking up from a path, schema-checked into a Workspace."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from forge.config.forge2017 import migration
from forge.config.schema import check
from forge.config.yamlload import load_one
from forge.errors import ForgeError
from forge.model import DNS_LABEL, Workspace

CONFIG_NAME = "forge.yaml"

# Image names and namespaces are DNS labels; a registry is host[:port][/path].
_REGISTRY = r"^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "registry": {"type": "string", "pattern": _REGISTRY, "description": "a registry like localhost:5001"},
        "concurrency": {"type": "integer", "minimum": 1, "maximum": 64},
        "namespace": {"type": "string", "pattern": DNS_LABEL, "description": "a DNS label"},
        "build_args": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
        "node_ports": {"type": "boolean"},
        "image_pull_secrets": {
            "type": "array",
            "items": {"type": "string", "pattern": DNS_LABEL, "description": "a Secret name (DNS label)"},
        },
    },
}


def display_path(path: Path) -> str:
    """A path as the user should read it: relative to the current directory when below it."""
    path = Path(os.path.abspath(path))
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def find_config(start: Path) -> Path | None:
    """The nearest forge.yaml in `start` (a directory or file) or one of its parents."""
    here = Path(os.path.abspath(start))
    if not here.is_dir():
        here = here.parent
    for directory in (here, *here.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def _directory(start: Path) -> Path:
    """`start` made absolute; its directory when it is a file."""
    here = Path(os.path.abspath(start))
    return here if here.is_dir() else here.parent


def _git_work_tree(start: Path) -> Path | None:
    """The git work tree enclosing `start`, if any."""
    here = _directory(start)
    return next((directory for directory in (here, *here.parents) if (directory / ".git").exists()), None)


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Parse a YAML file that must hold one mapping (an empty file is an empty mapping)."""
    return parse_mapping(read_text(path), display_path(path))


def read_text(path: Path) -> str:
    """A UTF-8 text file; a ForgeError naming it when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ForgeError(f"{display_path(path)}: cannot read: {getattr(err, 'strerror', None) or err}") from err


def parse_mapping(text: str, shown: str) -> dict[str, Any]:
    """The one YAML mapping in `text` (of the file named `shown`; empty text is an empty mapping)."""
    try:
        data = load_one(text, shown)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ForgeError(f"{shown}{where}: invalid YAML: {problem}", detail=str(err)) from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ForgeError(f"{shown}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def find_workspace_root(start: Path) -> Path:
    """The root of the workspace enclosing `start`: forge.yaml's directory, else the git work tree, else `start`."""
    return enclosing_workspace(start) or _directory(start)


def enclosing_workspace(start: Path) -> Path | None:
    """forge.yaml's directory, else the git work tree around `start`; None when `start` is in neither."""
    config = find_config(start)
    return config.parent if config else _git_work_tree(start)


def load_workspace(start: Path, env: Mapping[str, str] | None = None) -> Workspace:
    """The workspace enclosing `start`, with settings from its forge.yaml (if any). Its namespace is K8S_NAMESPACE
    when set (the original Forge's variable: below -n, above forge.yaml), else forge.yaml's."""
    namespace = _env_namespace(os.environ if env is None else env)
    config = find_config(start)
    if config is None:
        return Workspace(root=find_workspace_root(start), namespace=namespace)
    data = read_yaml_mapping(config)
    check_config(data, display_path(config))
    build_args = {str(k): build_arg_text(v) for k, v in (data.get("build_args") or {}).items()}
    return Workspace(
        root=config.parent,
        registry=data.get("registry"),
        concurrency=data.get("concurrency", Workspace.concurrency),
        namespace=namespace or data.get("namespace"),
        build_args=build_args,
        config_path=config,
        node_ports=data.get("node_ports", True),
        image_pull_secrets=tuple(data.get("image_pull_secrets") or ()),
    )


def check_config(data: dict[str, Any], shown: str) -> None:
    """forge.yaml's schema; a file written for the 2017 Forge gets the rewrite it needs instead."""
    old = migration(data)
    if old:
        raise ForgeError(f"{shown}: {old}")
    check(data, SCHEMA, shown)


def _env_namespace(env: Mapping[str, str]) -> str | None:
    value = env.get("K8S_NAMESPACE") or None
    if value is not None and not re.match(DNS_LABEL, value):
        raise ForgeError(f"K8S_NAMESPACE={value}: not a DNS label (lowercase letters, digits and '-', at most 63 "
                         "characters, starting and ending with a letter or digit)")
    return value


def build_arg_text(value: Any) -> str:
    """A build-arg value as Docker sees it (YAML `true` -> "true", not "True")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
