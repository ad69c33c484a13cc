"""`forge render`: flags only; rendering, validating and writing is forge.verbs.render's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from forge.commands.options import (
    build_arg_option,
    namespace_option,
    paths_argument,
    plan_targets,
    profile_options,
    run_context,
)

FORMATS = ("yaml", "json")


def _format_or_dir(ctx: click.Context, param: click.Parameter, value: str) -> str | Path:
    """`yaml`/`json`, else a directory (checked as click checks one: an existing file there is an error)."""
    if value in FORMATS:
        return value
    return click.Path(file_okay=False, path_type=Path).convert(value, param, ctx)


@click.command("render")
@paths_argument
@profile_options
@build_arg_option
@namespace_option
@click.option("-o", "--output", metavar="yaml|json|DIR", default="yaml", callback=_format_or_dir,
              help="Print YAML (default) or JSON (a v1 List), or write DIR/<build name>/<template path>.")
@click.option("--kube-version", metavar="VERSION", help="Validate against this Kubernetes version (e.g. 1.33).")
@click.option("--metadata", is_flag=True,
              help="Print what each service's templates receive (service, build.*) instead of the manifests.")
def render_command(paths: tuple[Path, ...], canary: bool, profile: str | None, branch: str | None,
                   overrides: dict[str, Any], build_args: dict[str, str], namespace: str | None, output: str | Path,
                   kube_version: str | None, metadata: bool) -> None:
    """Render and validate the Kubernetes manifests of the services under PATH (default: the current directory).

    Several PATHs (or service names) are rendered together.

    No Docker and no cluster are needed: image references carry the version computed from the sources.
    Nothing is written unless every template renders and every manifest validates. A directory named like a
    format is written as ./json or ./yaml.

    \b
    Examples:
      forge render                                          # the service here (or every service below)
      forge render qotm --canary                            # the canary build of qotm
      forge render qotm --set profiles.default.replicas=3   # override a service.yaml value
      forge render . -o build/manifests                     # write files instead of printing
      forge render qotm -o json                             # one JSON document (a v1 List), for scripts
      forge render qotm auth --metadata                     # what the templates receive (build.*)
    """
    from forge.verbs.render import RenderRequest, render

    if metadata and isinstance(output, Path):
        raise click.UsageError("--metadata prints; it cannot be written with -o DIR")
    request = RenderRequest(**plan_targets(paths), profile=profile, canary=canary, branch=branch, overrides=overrides,
                            build_args=build_args, namespace=namespace,
                            output_dir=output if isinstance(output, Path) else None, kube_version=kube_version,
                            metadata=metadata)
    render(request, run_context(product=True, output="json" if output == "json" else "text"))
