"""`forge render`: the manifests a deploy would apply, printed or written to files, without Docker or a cluster."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from forge.config.workspace import display_path
from forge.errors import ForgeError
from forge.manifests.render import dump_documents, render
from forge.manifests.validate import validate
from forge.model import Manifest
from forge.plan import plan

Say = Callable[[str], None]


def preview(path: Path, *, profile: str | None, canary: bool, overrides: Mapping[str, Any],
            build_args: Mapping[str, str], namespace: str | None, output: Path | None, kube_version: str | None,
            say: Say, note: Say) -> list[Manifest]:
    """Render and validate; print the documents with `say`, or write them under `output` (nothing is written unless
    every template renders and every manifest validates). Warnings and the summary go to `note`."""
    builds = plan(path, profile=profile, canary=canary, namespace=namespace, overrides=overrides,
                  build_args=build_args)
    manifests = render(builds)
    for warning in validate(manifests, kube_version):
        note(f"warning: {warning}")
    if output is None:
        say(printable(manifests))
        return manifests
    files = output_files(manifests, output)
    write_files(files)
    note(f"wrote {len(manifests)} objects in {len(files)} files under {display_path(output)}")
    return manifests


def output_files(manifests: list[Manifest], output: Path) -> dict[Path, list[dict[str, Any]]]:
    """`DIR/<build.name>/<template path relative to k8s/>` -> the documents rendered from that template."""
    files: dict[Path, list[dict[str, Any]]] = {}
    sources: dict[Path, Path] = {}
    for manifest in manifests:
        target = output / manifest.build.name / manifest.source.relative_to(manifest.build.service.templates_dir)
        source = sources.setdefault(target, manifest.source)
        if source != manifest.source:
            raise ForgeError(
                f"{display_path(target)}: both {display_path(source)} and {display_path(manifest.source)} "
                f"would be written there (two builds named {manifest.build.name!r})"
            )
        files.setdefault(target, []).append(manifest.doc)
    return files


def write_files(files: dict[Path, list[dict[str, Any]]]) -> None:
    for target, docs in files.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dump_documents(docs), encoding="utf-8")


def printable(manifests: list[Manifest]) -> str:
    return "".join(
        f"---\n# Source: {display_path(m.source)}\n{dump_documents([m.doc])}"
        for m in manifests
    )
