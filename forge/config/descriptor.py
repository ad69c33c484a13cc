"""service.yaml: parse, apply --set overrides, schema-check, fill defaults, resolve containers -> Service."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema

from forge.config.discover import is_service_dir, is_skipped_dir
from forge.config.profiles import current_branch, glob_problem, matching_glob
from forge.config.schema import check, field_path
from forge.config.templating import Environ, environment, render_file
from forge.config.workspace import build_arg_text, display_path, parse_mapping, read_text, read_yaml_mapping
from forge.errors import ForgeError
from forge.model import DNS_LABEL, BuildSecret, Container, Service

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,54}[a-z0-9])?$"  # a DNS label that leaves room for "-canary"
_IMAGE_COMPONENT = r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*"
IMAGE_NAME_PATTERN = rf"^{_IMAGE_COMPONENT}(/{_IMAGE_COMPONENT})*$"
_PROFILE_NAME = "a valid profile name (a DNS label: lowercase letters, digits and '-', at most 63 characters)"
# Jinja's markers: a service.yaml without any is plain YAML and is not rendered.
_TEMPLATE_MARKS = ("{{", "{%", "{#")
_SCALAR = {"type": ["string", "number", "boolean"]}

# A build secret: its id (what `RUN --mount=type=secret,id=...` names) and exactly one source (checked in code).
_SECRET: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
               "description": "a valid secret id (letters, digits, '.', '_', '-')"},
        "env": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
                "description": "an environment variable name"},
        "file": {"type": "string", "minLength": 1},
    },
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {
            "type": "string",
            "pattern": NAME_PATTERN,
            "description": "a valid service name (lowercase letters, digits and '-', at most 56 characters)",
        },
        "containers": {
            "type": "array",
            "items": {
                # A Dockerfile path, or an object; `properties`/`required` only apply to objects.
                "type": ["string", "object"],
                "minLength": 1,
                "additionalProperties": False,
                "required": ["dockerfile"],
                "properties": {
                    "dockerfile": {"type": "string", "minLength": 1},
                    "context": {"type": "string", "minLength": 1},
                    "name": {
                        "type": "string",
                        "pattern": IMAGE_NAME_PATTERN,
                        "description": "a valid image name (lowercase letters, digits, '.', '_', '-', '/')",
                    },
                    "args": {"type": "object", "additionalProperties": _SCALAR},
                    "secrets": {"type": "array", "items": _SECRET},
                },
            },
        },
        "profiles": {
            "type": "object",
            "propertyNames": {"pattern": DNS_LABEL, "description": _PROFILE_NAME},
            "additionalProperties": {
                "type": ["object", "null"],
                "properties": {
                    "name": {
                        "type": "string",
                        "pattern": r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
                        "description": "a valid build name (a DNS label)",
                    },
                    "weight": {"type": "number", "minimum": 0, "maximum": 100},
                    "replicas": {"type": "integer", "minimum": 0},
                },
            },
        },
        # Each profile is checked when its glob is the one the branch matches (matching_glob): a templated
        # `"*": "{{ branch ... }}"` need not make a DNS label of a branch an earlier glob takes.
        "branches": {"type": "object", "additionalProperties": {"type": "string"}},
        # One name, or a list of names (minLength applies to the string, items and uniqueItems to the list).
        "requires": {"type": ["string", "array"], "minLength": 1, "items": {"type": "string", "minLength": 1},
                     "uniqueItems": True},
    },
}

# A service's own JSON Schema (in YAML) for the fields its templates read, next to its service.yaml.
OWN_SCHEMA = "service.schema.yaml"

# Profiles every service has, whether or not service.yaml defines them.
BUILTIN_PROFILES = ("default", "canary")


def load_service(
    descriptor: Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    branch: str | None = None,
) -> Service:
    """Render a service.yaml (a Jinja template of `env` and `branch`), apply the dotted `overrides` (--set) it has
    a place for (see `settable`), check it and resolve its containers. `branch` None: FORGE_BRANCH, else git's."""
    descriptor = Path(os.path.abspath(descriptor))
    shown = display_path(descriptor)
    env = os.environ if env is None else env
    branch = current_branch(descriptor.parent, env, branch)
    data = read_descriptor(descriptor, env, branch)
    applicable = {key: value for key, value in (overrides or {}).items() if settable(data, key)}
    if applicable:
        data = apply_overrides(data, applicable)
        shown += " (with --set)"
    check(data, SCHEMA, shown)
    root = descriptor.parent
    own_schema = root / OWN_SCHEMA
    if own_schema.is_file():
        check(data, _own_schema(own_schema), shown)
    data.setdefault("name", root.name)
    check({"name": data["name"]}, {"properties": {"name": SCHEMA["properties"]["name"]}}, shown)
    profiles = {k: dict(v or {}) for k, v in (data.get("profiles") or {}).items()}
    branches = {str(glob): profile for glob, profile in (data.get("branches") or {}).items()}
    for glob in branches:
        problem = glob_problem(glob)
        if problem:
            raise ForgeError(f"{shown}: branches.{glob or repr(glob)}: the glob {problem}")
    matched = matching_glob(branches, branch)
    if matched is not None and not re.match(DNS_LABEL, branches[matched]):
        raise ForgeError(f"{shown}: branches.{matched}: {branches[matched]!r} is not {_PROFILE_NAME}")
    containers = _containers(root, data, shown)
    data["profiles"], data["branches"] = profiles, branches
    requires = data.get("requires") or []
    data["requires"] = [requires] if isinstance(requires, str) else list(requires)
    data["containers"] = [
        {"dockerfile": c.key, "context": os.path.relpath(c.context, root), "name": c.name, "args": c.args}
        for c in containers
    ]
    return Service(
        name=data["name"],
        root=root,
        descriptor_path=descriptor,
        data=data,
        containers=containers,
        profiles=profiles,
        branches=branches,
        requires=data["requires"],
        overridden=tuple(applicable),
        branch=branch,
    )


def read_descriptor(descriptor: Path, env: Mapping[str, str], branch: str | None) -> dict[str, Any]:
    """service.yaml rendered with Jinja (`env`, `branch`; StrictUndefined, errors naming file and line), then parsed:
    the mapping it holds."""
    text = read_text(descriptor)
    if any(mark in text for mark in _TEMPLATE_MARKS):
        root = descriptor.parent
        text = render_file(environment(root), root, descriptor, {"env": Environ(env), "branch": branch})
    return parse_mapping(text, display_path(descriptor))


def _own_schema(path: Path) -> dict[str, Any]:
    """A service's service.schema.yaml, refused with its file name when it is not a valid JSON Schema."""
    schema = read_yaml_mapping(path)
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as err:
        where = field_path(err.absolute_path) or "(top)"
        raise ForgeError(f"{display_path(path)}: {where}: not a valid JSON Schema: {err.message}") from err
    return schema


def settable(data: dict[str, Any], dotted: str) -> bool:
    """Whether `--set dotted=...` has a place in this service.yaml: a top-level key must exist (a typo is not a
    new field); a deeper key needs its parent mapping to exist (`upstreams.api` adds an upstream)."""
    parts = dotted.split(".")
    if not all(parts):
        raise ForgeError(f"--set {dotted}: empty field name")
    target: Any = data
    for i, part in enumerate(parts[:-1]):
        if part not in target:
            return False
        target = target[part]
        if not isinstance(target, dict):
            raise ForgeError(f"--set {dotted}: {'.'.join(parts[: i + 1])} is not a mapping")
    return len(parts) > 1 or parts[0] in target


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `data` with each dotted key (`a.b.c`) set to its value."""
    result = copy.deepcopy(data)
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        if not all(parts):
            raise ForgeError(f"--set {dotted}: empty field name")
        target = result
        for i, part in enumerate(parts[:-1]):
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                raise ForgeError(f"--set {dotted}: {'.'.join(parts[: i + 1])} is not a mapping")
            target = child
        target[parts[-1]] = copy.deepcopy(value)
    return result


def image_name_for(service: str, dockerfile_key: str) -> str:
    """`Dockerfile` -> svc, `web/Dockerfile` -> svc-web, `Dockerfile.worker`/`worker.Dockerfile` -> svc-worker."""
    *dirs, filename = dockerfile_key.split("/")
    parts = [d for d in dirs if d not in (".", "..")]
    if filename.startswith("Dockerfile."):
        parts.append(filename[len("Dockerfile.") :])
    elif filename.endswith(".Dockerfile"):
        parts.append(filename[: -len(".Dockerfile")])
    elif filename != "Dockerfile":
        parts.append(filename)
    cleaned = [re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts]
    return "-".join([service, *(p for p in cleaned if p)])


def find_dockerfiles(root: Path) -> list[str]:
    """Dockerfiles of a service (paths relative to it), skipping k8s/, ignored dirs and nested services."""
    found = []
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        dirnames[:] = sorted(
            d for d in dirnames
            if not is_skipped_dir(here / d) and not (here == root and d == "k8s") and not is_service_dir(here / d)
        )
        for filename in filenames:
            if filename == "Dockerfile" or filename.startswith("Dockerfile.") or filename.endswith(".Dockerfile"):
                found.append((here / filename).relative_to(root).as_posix())
    return sorted(found)


def _containers(root: Path, data: dict[str, Any], shown: str) -> list[Container]:
    entries = data.get("containers")
    if entries is None:
        entries = find_dockerfiles(root)
        where = [f"containers (found {key})" for key in entries]
    else:
        where = [f"containers[{i}]" for i in range(len(entries))]
    containers: list[Container] = []
    used: dict[str, str] = {}
    for field, entry in zip(where, entries, strict=True):
        spec = {"dockerfile": entry} if isinstance(entry, str) else entry
        container = _container(root, data["name"], spec, field, shown)
        for taken in (container.name, container.key):
            if taken in used:
                raise ForgeError(f"{shown}: {field}: image name {taken!r} is already used by {used[taken]}")
        used[container.name] = used[container.key] = field
        containers.append(container)
    return containers


def _container(root: Path, service: str, spec: dict[str, Any], field: str, shown: str) -> Container:
    dockerfile = Path(os.path.normpath(root / spec["dockerfile"]))
    if not dockerfile.is_file():
        raise ForgeError(f"{shown}: {field}: Dockerfile {spec['dockerfile']!r} not found")
    context = Path(os.path.normpath(root / spec["context"])) if "context" in spec else dockerfile.parent
    if not context.is_dir():
        raise ForgeError(f"{shown}: {field}.context: directory {spec['context']!r} not found")
    key = Path(os.path.relpath(dockerfile, root)).as_posix()
    return Container(
        key=key,
        name=spec.get("name") or image_name_for(service, key),
        dockerfile=dockerfile,
        context=context,
        args={str(k): build_arg_text(v) for k, v in (spec.get("args") or {}).items()},
        secrets=_secrets(root, spec.get("secrets") or [], f"{shown}: {field}.secrets"),
    )


def _secrets(root: Path, entries: list[dict[str, str]], where: str) -> tuple[BuildSecret, ...]:
    """The declared build secrets: each with exactly one of `env` and `file` (relative to the service), ids unique.
    Whether the variable is set or the file exists is checked when an image is built, not here (render needs
    neither)."""
    secrets: list[BuildSecret] = []
    for i, entry in enumerate(entries):
        if ("env" in entry) == ("file" in entry):
            raise ForgeError(f"{where}[{i}]: give exactly one of env (an environment variable) or file")
        if any(s.id == entry["id"] for s in secrets):
            raise ForgeError(f"{where}[{i}].id: secret {entry['id']!r} is declared twice")
        file = Path(os.path.normpath(root / entry["file"])) if "file" in entry else None
        secrets.append(BuildSecret(id=entry["id"], env=entry.get("env"), file=file))
    return tuple(secrets)

