"""`forge canary abort`: flags only; deleting the canary is forge.verbs.canary_abort's."""

from __future__ import annotations

import click

from forge.commands.options import cluster_options, run_context, service_argument


@click.command("abort")
@service_argument
@cluster_options
def abort_command(service: str, context: str | None, namespace: str | None) -> None:
    """Delete SERVICE's canary (only the canary's objects; the stable deployment is untouched).

    \b
    Examples:
      forge canary abort qotm
    """
    from forge.verbs.canary_abort import AbortRequest, abort

    abort(AbortRequest(service), run_context(context, namespace))
