"""`forge render`: the manifests a deploy would apply, printed or written to files, without Docker or a cluster.

`render_and_validate` is the render step of `forge deploy` and `forge canary promote` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forge.config.workspace import display_path
from forge.context import Context
from forge.errors import ForgeError
from forge.manifests.render import dump_documents, template_values
from forge.manifests.render import render as render_manifests
from forge.manifests.validate import validate
from forge.model import Build, Manifest
from forge.output import Output
from forge.plan import PlanRequest, plan


@dataclass(frozen=True)
class RenderRequest(PlanRequest):
    namespace: str | None = None
    output_dir: Path | None = None  # write DIR/<build name>/<template path> instead of printing
    kube_version: str | None = None
    metadata: bool = False  # print what the templates receive instead of rendering them


def render(req: RenderRequest, ctx: Context) -> list[Manifest]:
    """Render and validate; print the documents (YAML, or a v1 List as JSON with --output json), or write them under
    `output_dir` (nothing is written unless every template renders and every manifest validates). With `metadata`,
    print what each build's templates receive instead (nothing is rendered)."""
    builds = plan(req.targets, profile=req.profile, canary=req.canary, namespace=req.namespace,
                  overrides=req.overrides, build_args=req.build_args, env=ctx.env, branch=req.branch)
    if req.metadata:
        received = [template_values(b) for b in builds]
        text = "".join(f"---\n# {b.name}: what the templates of {display_path(b.service.descriptor_path)} receive "
                       f"(and env)\n{dump_documents([values])}" for b, values in zip(builds, received, strict=True))
        ctx.out.result(text, received, newline=False)
        return []
    manifests = [m for _, found in render_and_validate(builds, req.kube_version, ctx.out) for m in found]
    if req.output_dir is None:
        ctx.out.result(printable(manifests), {"apiVersion": "v1", "kind": "List", "items": [m.doc for m in manifests]},
                       newline=False)
        return manifests
    files = output_files(manifests, req.output_dir)
    write_files(files)
    ctx.out.info(f"wrote {len(manifests)} objects in {len(files)} files under {display_path(req.output_dir)}")
    return manifests


def render_and_validate(builds: Sequence[Build], kube_version: str | None,
                        out: Output) -> list[tuple[Build, list[Manifest]]]:
    """Each build with its rendered, validated manifests (validation warnings printed); ForgeError on a problem."""
    manifests = render_manifests(builds)
    for warning in validate(manifests, kube_version):
        out.warn(warning)
    return [(b, [m for m in manifests if m.build is b]) for b in builds]


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
