"""Check rendered manifests before anything touches a cluster: required fields, the Kubernetes OpenAPI schema of
the target version (offline, kubernetes-validate, strict: unknown fields are errors), and no duplicate objects."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema
from kubernetes_validate.utils import all_versions, schema_contents
from packaging.version import InvalidVersion, Version
from referencing import Registry, Resource

from forge.config.schema import error_path, field_path
from forge.config.workspace import display_path
from forge.errors import ForgeError
from forge.model import Manifest
from versions_env import FILE_NAME, REPOSITORY_FILE, VersionsError, read_versions

VERSION_KEY = "KUBERNETES_VERSION"


def pinned_kubernetes_version(start: Path | None = None) -> str | None:
    """KUBERNETES_VERSION from the nearest versions.env above `start`, or the repository's (a bad line: ForgeError)."""
    candidates: list[Path] = []
    if start is not None:
        here = start.resolve()
        candidates += [d / FILE_NAME for d in (here, *here.parents)]
    candidates.append(REPOSITORY_FILE)
    for candidate in candidates:
        if candidate.is_file():
            try:
                version = read_versions(candidate).get(VERSION_KEY)
            except VersionsError as err:
                raise ForgeError(str(err)) from None
            if version:
                return version
    return None


def _minor(version: str) -> Version:
    try:
        release = Version(version.strip().lstrip("v")).release
    except InvalidVersion as err:
        raise ForgeError(f"Kubernetes version {version!r} is not a version like 1.33") from err
    return Version(".".join(str(n) for n in (*release, 0)[:2]))


def _shipped_version(requested: str | None) -> str:
    """The newest schema version kubernetes-validate ships (e.g. "1.36.0") not newer than `requested`."""
    shipped = sorted(all_versions(), key=_minor)
    if requested is None:
        return shipped[-1]
    wanted = _minor(requested)
    usable = [v for v in shipped if _minor(v) <= wanted]
    if not usable:
        raise ForgeError(f"Kubernetes {requested} is older than the oldest schema available ({_minor(shipped[0])})")
    return usable[-1]


def schema_version(requested: str | None) -> str:
    """major.minor of the schema used for `requested` (default: the newest available)."""
    return str(_minor(_shipped_version(requested)))


@functools.cache
def _definitions_json(shipped: str) -> dict[str, Any]:
    """The schema's 2 MB _definitions.json, parsed once per process."""
    return schema_contents(f"kubernetes-json-schema/v{shipped}-local-strict/_definitions.json", shipped)


@functools.cache
def _definitions(shipped: str) -> Resource:
    return Resource.from_contents(_definitions_json(shipped))


@functools.cache
def _built_in(shipped: str) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """(every built-in API group the schema knows of, even as removed; kinds per served apiVersion)."""
    definitions = _definitions_json(shipped)
    groups = {""}
    served: dict[str, set[str]] = {}
    for name, schema in definitions["$defs"].items():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            groups.add(gvk["group"])
            if not name.startswith("io.k8s.apimachinery."):  # DeleteOptions, WatchEvent...: listed for every group
                api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
                served.setdefault(api_version, set()).add(gvk["kind"])
    return frozenset(groups), {k: frozenset(v) for k, v in served.items()}


def _is_built_in(api_version: str, shipped: str) -> bool:
    """A built-in API group, or one that cannot be a custom resource's (CRD groups contain a dot)."""
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return group in _built_in(shipped)[0] or "." not in group


def _kind_problem(manifest: Manifest, shipped: str) -> str | None:
    """Why a built-in apiVersion/kind pair does not exist in this Kubernetes version (None: it does)."""
    served = _built_in(shipped)[1]
    kind, api_version = manifest.kind, manifest.api_version
    if kind == "List" or (kind.endswith("List") and kind in served.get(api_version, ())):
        return f"kind {kind} is not supported: write each object as its own YAML document (separated by ---)"
    if api_version not in served:
        homes = sorted(v for v, kinds in served.items() if kind in kinds)
        hint = f" ({kind} is {homes[-1] if len(homes) == 1 else ' or '.join(homes)})" if homes else ""
        return f"apiVersion {api_version} is not served by Kubernetes {_minor(shipped)}{hint}"
    if kind not in served[api_version]:
        import difflib  # only for this message

        close = difflib.get_close_matches(kind, served[api_version], n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return f"kind {kind} does not exist in {api_version} (Kubernetes {_minor(shipped)}{hint})"
    return None


@functools.cache
def _validator(shipped: str, api_version: str, kind: str) -> jsonschema.Draft202012Validator | None:
    """A strict validator for one built-in kind, as kubernetes_validate.validate builds it, but loaded once per
    process (its validate() re-reads the 2 MB definitions file for every object). None: no schema file."""
    schema_dir = f"v{shipped}-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # rbac.authorization.k8s.io/v1 -> rbac-v1
    try:
        schema = schema_contents(f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group}.json", shipped)
    except FileNotFoundError:
        return None
    registry = _definitions(shipped) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _where(manifest: Manifest, index: int) -> str:
    kind, name = manifest.doc.get("kind"), (manifest.doc.get("metadata") or {}).get("name")
    what = f"{kind}/{name}" if isinstance(kind, str) and isinstance(name, str) else f"document {index}"
    return f"{display_path(manifest.source)}: {what}"


def _required_fields(manifest: Manifest, where: str) -> str | None:
    doc = manifest.doc
    for field in ("apiVersion", "kind"):
        if not isinstance(doc.get(field), str) or not doc[field]:
            return f"{where}: missing {field}"
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
        return f"{where}: missing metadata.name"
    return None


def _schema_problem(manifest: Manifest, where: str, shipped: str) -> tuple[str | None, str | None]:
    """(error, warning) from the OpenAPI schema check; custom resources (a group that is not built in) only warn,
    and are never checked against a built-in kind's schema."""
    version = str(_minor(shipped))
    skipped = f"{where}: no schema for {manifest.api_version} {manifest.kind} in Kubernetes {version}; skipped"
    if not _is_built_in(manifest.api_version, shipped):
        return None, skipped
    problem = _kind_problem(manifest, shipped)
    if problem:
        return f"{where}: {problem}", None
    validator = _validator(shipped, manifest.api_version, manifest.kind)
    if validator is None:
        return None, skipped
    err = jsonschema.exceptions.best_match(validator.iter_errors(manifest.doc))
    if err is None:
        return None, None
    path = field_path(error_path(err))
    message = "unknown field" if err.validator == "additionalProperties" else err.message
    return f"{where}: {path + ': ' if path else ''}{message} (Kubernetes {version})", None


def _namespace_problem(manifest: Manifest, where: str) -> str | None:
    """A namespace written in a template must be the target one (kubectl refuses such a mismatch too)."""
    written = manifest.doc["metadata"].get("namespace")
    if written is None or written == manifest.build.namespace:
        return None
    return (f"{where}: metadata.namespace {written!r} differs from the target namespace "
            f"{manifest.build.namespace!r} (-n, else forge.yaml); remove it or write {{{{ build.namespace }}}}")


def _duplicates(manifests: Sequence[Manifest]) -> list[str]:
    problems = []
    seen: dict[tuple[str, str, str, str], Manifest] = {}
    for manifest in manifests:
        first = seen.setdefault(manifest.key(), manifest)
        if first is not manifest:
            problems.append(
                f"duplicate object {manifest.ident()} in namespace {manifest.namespace}: rendered by "
                f"{display_path(first.source)} (service {first.build.service.name}) and "
                f"{display_path(manifest.source)} (service {manifest.build.service.name})"
            )
    return problems


def validate(manifests: Sequence[Manifest], kube_version: str | None = None) -> list[str]:
    """Raise ForgeError with the first problem (all of them in `detail`); return warnings.

    `kube_version` None: KUBERNETES_VERSION of versions.env, else the newest schema available.
    """
    start = manifests[0].build.service.root if manifests else None
    shipped = _shipped_version(kube_version or pinned_kubernetes_version(start))
    problems: list[str] = []
    warnings: list[str] = []
    counts: dict[Path, int] = {}
    complete: list[Manifest] = []
    for manifest in manifests:
        counts[manifest.source] = counts.get(manifest.source, 0) + 1
        where = _where(manifest, counts[manifest.source])
        missing = _required_fields(manifest, where)
        if missing:
            problems.append(missing)
            continue
        complete.append(manifest)
        error, warning = _schema_problem(manifest, where, shipped)
        error = error or _namespace_problem(manifest, where)
        problems += [error] if error else []
        warnings += [warning] if warning else []
    problems += _duplicates(complete)
    if problems:
        more = f" (and {len(problems) - 1} more problems; -v lists them)" if len(problems) > 1 else ""
        raise ForgeError(problems[0] + more, detail="\n".join(problems) if more else None)
    return warnings
