"""Render every k8s/**/*.yaml|yml template of each build with Jinja2 (StrictUndefined) into labelled Manifests."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache
import yaml

from forge.config import templating
from forge.config.templating import Environ, render_file
from forge.config.workspace import display_path
from forge.config.yamlload import load_all
from forge.errors import ForgeError
from forge.model import Build, Manifest, Service, pod_template

log = logging.getLogger(__name__)
TEMPLATE_SUFFIXES = (".yaml", ".yml")
# libyaml when PyYAML has it (several times faster on big rendered configs).
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FAST_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def templates(service: Service) -> list[Path]:
    """The k8s/**/*.yaml|yml files of a service, sorted."""
    root = service.templates_dir
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.suffix in TEMPLATE_SUFFIXES and p.is_file())


def context(build: Build, env: Mapping[str, str]) -> dict[str, Any]:
    """What a template sees: `service`, `build` and `env`."""
    return {
        "service": build.service.data,
        "build": {
            "name": build.name,
            "version": build.version,
            "profile": build.profile_values,
            "canary": build.canary,
            "images": {key: image.ref for key, image in build.images.items()},
            "namespace": build.namespace,
            "branch": build.service.branch,
        },
        "env": Environ(env),
    }


def template_values(build: Build) -> dict[str, Any]:
    """What the build's templates receive but `env` (the whole environment: it may hold credentials): `service` and
    `build`, as `forge render --metadata` shows them."""
    return {key: value for key, value in context(build, {}).items() if key != "env"}


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates under ~/.cache/forge (keyed by path and checked against the source), so a render does
    not parse and compile every template again; a cache that cannot be read or written is simply not used."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError):
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass


def template_cache_dir() -> Path:
    """$FORGE_CACHE_DIR, else $XDG_CACHE_HOME/forge, else ~/.cache/forge; then `templates`."""
    base = os.environ.get("FORGE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "forge")
    return Path(base) / "templates"


def environment(service_root: Path) -> jinja2.Environment:
    """Jinja2 rooted at the service directory, with compiled templates cached."""
    return templating.environment(service_root, bytecode_cache=_TemplateCache(str(template_cache_dir())))


def render(builds: Sequence[Build], env: Mapping[str, str] | None = None) -> list[Manifest]:
    """Manifests of every build in order, forge's labels injected. Any template problem raises ForgeError."""
    env = os.environ if env is None else env
    manifests: list[Manifest] = []
    for build in builds:
        jinja = environment(build.service.root)
        values = context(build, env)
        found = templates(build.service)
        if not found:
            log.warning("%s: no templates in %s, nothing to deploy for it", build.service.name,
                        display_path(build.service.templates_dir) + "/")
        for template in found:
            text = render_file(jinja, build.service.root, template, values)
            for doc in parse_documents(template, text):
                inject_labels(doc, build.labels())
                fit_namespace(doc, build)
                manifests.append(Manifest(build=build, source=template, doc=doc))
    return manifests


def _load_all(text: str, shown: str) -> list[Any]:
    try:
        return load_all(text, shown, _FAST_LOADER)
    except yaml.YAMLError:
        return load_all(text, shown)  # fails again, with the pure-Python parser's (documented) messages


def parse_documents(template: Path, text: str) -> list[dict[str, Any]]:
    """The non-empty YAML documents of a rendered template; each must be a mapping."""
    try:
        docs = [d for d in _load_all(text, display_path(template)) if d is not None]
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ForgeError(f"{display_path(template)}{where}: rendered to invalid YAML: {problem}", detail=text) from err
    for index, doc in enumerate(docs, 1):
        if not isinstance(doc, dict):
            raise ForgeError(
                f"{display_path(template)}: document {index}: expected a mapping, got {type(doc).__name__}"
            )
    return docs


def fit_namespace(doc: dict[str, Any], build: Build) -> None:
    """What the workspace says of its namespace (forge.yaml, written by `forge setup`): with `node_ports: false` (a
    classroom seat allows none) a NodePort Service is rendered as ClusterIP, its nodePorts dropped; every pod gets
    `image_pull_secrets` (pods with their own ServiceAccount pull as the namespace's default one does)."""
    spec = doc.get("spec")
    if not build.node_ports and doc.get("kind") == "Service" and isinstance(spec, dict) and \
            spec.get("type") == "NodePort":
        spec["type"] = "ClusterIP"
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.pop("nodePort", None)
    pod = spec if doc.get("kind") == "Pod" else (pod_template(doc) or {}).get("spec")
    if build.image_pull_secrets and isinstance(pod, dict):
        have = [s for s in pod.get("imagePullSecrets") or [] if isinstance(s, dict)]
        names = {s.get("name") for s in have}
        pod["imagePullSecrets"] = have + [{"name": n} for n in build.image_pull_secrets if n not in names]


def inject_labels(doc: dict[str, Any], labels: Mapping[str, str]) -> None:
    """forge's labels on the object and on its pod template; selectors are never touched."""
    _add_labels(doc, labels)
    if doc.get("kind") == "CronJob" and isinstance(doc.get("spec"), dict):
        _add_labels(doc["spec"].get("jobTemplate"), labels)
    _add_labels(pod_template(doc), labels)


def _add_labels(obj: Any, labels: Mapping[str, str]) -> None:
    if not isinstance(obj, dict):
        return
    metadata = obj.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        return
    existing = metadata.get("labels")
    metadata["labels"] = {**(existing if isinstance(existing, dict) else {}), **labels}


class _Dumper(_FAST_DUMPER):  # type: ignore[valid-type,misc]
    """YAML output people can read: multi-line strings (config files in ConfigMaps) as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_documents(docs: Sequence[dict[str, Any]]) -> str:
    """Multi-document YAML, keys in their rendered order."""
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)
