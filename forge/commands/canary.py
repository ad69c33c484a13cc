"""`forge canary`: the group; its subcommands are canary_status.py, canary_promote.py and canary_abort.py."""

from __future__ import annotations

import click

from forge.commands.lazy import LazyGroup

SUBCOMMANDS = {"status": "forge.commands.canary_status:status_command",
               "promote": "forge.commands.canary_promote:promote_command",
               "abort": "forge.commands.canary_abort:abort_command"}


@click.group("canary", cls=LazyGroup, lazy=SUBCOMMANDS)
def canary_group() -> None:
    """Canary deployments: compare with stable, promote, abort.

    \b
    Examples:
      CANARY=true forge deploy qotm                  # deploy the canary beside the stable build
      forge canary status qotm --prometheus http://127.0.0.1:9090
      forge canary promote qotm                      # the canary's version becomes stable
      forge canary abort qotm                        # delete the canary
    """
