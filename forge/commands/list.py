"""`forge list`: flags only; reading the inventories is forge.verbs.list's."""

from __future__ import annotations

import click

from forge.commands.options import cluster_options, output_option, run_context


@click.command("list")
@output_option
@cluster_options
def list_command(output: str, context: str | None, namespace: str | None) -> None:
    """List what forge deployed in the namespace: service, profile, build name, version, readiness.

    \b
    Examples:
      forge list
      forge list -n workshop -o json
    """
    from forge.verbs.list import ListRequest, list_deployed

    list_deployed(ListRequest(), run_context(context, namespace, product=True, output=output))
