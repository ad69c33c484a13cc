"""`forge render`: the manifests a deploy would apply, without Docker or a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from forge.builds import plan
from forge.commands import build_arg_option, namespace_option, path_argument, profile_options
from forge.config.workspace import display_path
from forge.errors import ForgeError
from forge.manifests.render import dump_documents, render
from forge.manifests.validate import validate
from forge.model import Manifest


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


@click.command("render")
@path_argument
@profile_options
@build_arg_option
@namespace_option
@click.option(
    "-o", "--output", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
    help="Write DIR/<build name>/<template path> instead of printing.",
)
@click.option("--kube-version", metavar="VERSION", help="Validate against this Kubernetes version (e.g. 1.33).")
def render_command(
    path: Path,
    canary: bool,
    profile: str | None,
    overrides: dict[str, Any],
    build_args: dict[str, str],
    namespace: str | None,
    output: Path | None,
    kube_version: str | None,
) -> None:
    """Render and validate the Kubernetes manifests of the services under PATH (default: the current directory).

    No Docker and no cluster are needed: image references carry the version computed from the sources.
    Nothing is written unless every template renders and every manifest validates.

    \b
    Examples:
      forge render                                          # the service here (or every service below)
      forge render qotm --canary                            # the canary build of qotm
      forge render qotm --set profiles.default.replicas=3   # override a service.yaml value
      forge render . -o build/manifests                     # write files instead of printing
    """
    builds = plan(path, profile=profile, canary=canary, namespace=namespace, overrides=overrides,
                  build_args=build_args)
    manifests = render(builds)
    for warning in validate(manifests, kube_version):
        click.echo(f"warning: {warning}", err=True)
    if output is None:
        click.echo(printable(manifests), nl=False)
        return
    files = output_files(manifests, output)
    write_files(files)
    click.echo(f"wrote {len(manifests)} objects in {len(files)} files under {display_path(output)}", err=True)
