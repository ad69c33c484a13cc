"""`forge canary promote` and `forge canary abort` (subcommands of the `canary` group): flags only; the verbs are
forge.canary's."""

from __future__ import annotations

from pathlib import Path

import click

from forge.commands import service_argument
from forge.commands.options import cluster_options, timeout_option
from forge.verbs.canary_abort import abort
from forge.verbs.canary_promote import promote
from forge.verbs.deploy import Target


@click.command("promote")
@service_argument
@click.option("--path", "path", default=".", type=click.Path(exists=True, path_type=Path),
              help="The workspace or service directory holding SERVICE's templates (default: here).")
@click.option("--profile", "-p", metavar="PROFILE",
              help="The stable profile to promote into (default: as deploy picks it, ignoring CANARY).")
@timeout_option
@cluster_options
def promote_command(service: str, path: Path, profile: str | None, timeout: float, context: str | None,
                    namespace: str | None) -> None:
    """Deploy the canary's images and version as the stable SERVICE, wait for it, then delete the canary.

    The stable templates are rendered from the workspace; the images are exactly the ones the canary runs.

    \b
    Examples:
      forge canary status qotm --max-p95-ratio 1.5 && forge canary promote qotm
    """
    promote(service, path, Target(context, namespace), profile=profile, timeout=timeout, say=click.echo)


@click.command("abort")
@service_argument
@cluster_options
def abort_command(service: str, context: str | None, namespace: str | None) -> None:
    """Delete SERVICE's canary (only the canary's objects; the stable deployment is untouched).

    \b
    Examples:
      forge canary abort qotm
    """
    abort(service, Target(context, namespace), click.echo)
