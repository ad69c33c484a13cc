"""`forge render`: flags only; rendering, validating and writing is forge.verbs.render's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from forge.commands import build_arg_option, namespace_option, path_argument, profile_options
from forge.verbs.render import preview


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
    preview(path, profile=profile, canary=canary, overrides=overrides, build_args=build_args, namespace=namespace,
            output=output, kube_version=kube_version, say=lambda text: click.echo(text, nl=False),
            note=lambda line: click.echo(line, err=True))
