"""`forge build`: flags only; building and pushing is forge.verbs.build's (no cluster: for CI)."""

from __future__ import annotations

from pathlib import Path

import click

from forge.commands.options import (
    branch_option,
    build_arg_option,
    paths_argument,
    plan_targets,
    profile_choice,
    run_context,
)


@click.command("build")
@paths_argument
@profile_choice
@branch_option
@build_arg_option
@click.option("--registry", metavar="HOST[/PATH]",
              help="Push here (default: forge.yaml's registry; without one, images stay in the local engine).")
def build_command(paths: tuple[Path, ...], canary: bool, profile: str | None, branch: str | None,
                  build_args: dict[str, str], registry: str | None) -> None:
    """Build and push the images of the services under PATH (default: the current directory); deploy nothing.

    The same images `forge deploy` would use, with the same skip rules: an image is built only when neither the
    registry nor the local engine has its tag, pushed only when the registry lacks it. No cluster is contacted,
    so without forge.yaml's `registry` or --registry the images stay in the local engine. stdout gets only the
    image references, one per line; progress goes to stderr. Images are built with BuildKit (`docker buildx`)
    where it works, else with the classic builder; FORGE_BUILDER=auto|buildkit|classic overrides that.

    \b
    Examples:
      forge build                                   # the service here (or every service below)
      forge build qotm --registry localhost:5001    # build and push QOTM's image
      forge build . --build-arg BASE_IMAGE=python:3.12-alpine
    """
    from forge.verbs.build import BuildRequest, build

    request = BuildRequest(**plan_targets(paths), profile=profile, canary=canary, branch=branch,
                           build_args=build_args, registry=registry)
    build(request, run_context(product=True))
