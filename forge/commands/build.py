"""`forge build`: build and push the images of the services under PATH, without a cluster (for CI)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from forge.builds import plan, unique_images
from forge.commands import build_arg_option, path_argument, profile_choice
from forge.config.schema import check
from forge.config.workspace import SCHEMA, load_workspace
from forge.images.build import ensure_images


@click.command("build")
@path_argument
@profile_choice
@build_arg_option
@click.option("--registry", metavar="HOST[/PATH]",
              help="Push here (default: forge.yaml's registry; without one, images stay in the local engine).")
def build_command(path: Path, canary: bool, profile: str | None, build_args: dict[str, str],
                  registry: str | None) -> None:
    """Build and push the images of the services under PATH (default: the current directory); deploy nothing.

    The same images `forge deploy` would use, with the same skip rules: an image is built only when neither the
    registry nor the local engine has its tag, pushed only when the registry lacks it. No cluster is contacted,
    so without forge.yaml's `registry` or --registry the images stay in the local engine. stdout gets only the
    image references, one per line; progress goes to stderr.

    \b
    Examples:
      forge build                                   # the service here (or every service below)
      forge build qotm --registry localhost:5001    # build and push QOTM's image
      forge build . --build-arg BASE_IMAGE=python:3.12-alpine
    """
    workspace = load_workspace(path)
    if registry:
        check(registry, SCHEMA["properties"]["registry"], "--registry")
    registry = registry or workspace.registry
    builds = plan(path, profile=profile, canary=canary, registry=registry, build_args=build_args,
                  workspace=workspace)
    images = unique_images(builds)
    if not images:
        click.echo(f"nothing to build: no service under {path} has a container", err=True)
        return
    click.echo(f"images: {len(images)} (registry: {registry or 'none, local engine only'})", err=True)
    for result in ensure_images(images, registry=registry, concurrency=workspace.concurrency, out=sys.stderr):
        click.echo(result.image.ref)
