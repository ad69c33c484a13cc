"""`forge canary promote`: flags only; the promotion is forge.verbs.canary_promote's."""

from __future__ import annotations

from pathlib import Path

import click

from forge.commands.options import cluster_options, run_context, service_argument, timeout_option


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
    from forge.verbs.canary_promote import PromoteRequest, promote

    promote(PromoteRequest(service, path, profile, timeout), run_context(context, namespace))
