"""`forge canary`: the group; its subcommands are canary_status.py, canary_promote.py and canary_abort.py."""

from __future__ import annotations

import click


@click.group("canary")
def canary_group() -> None:
    """Canary deployments: compare with stable, promote, abort.

    \b
    Examples:
      CANARY=true forge deploy qotm                  # deploy the canary beside the stable build
      forge canary status qotm --prometheus http://127.0.0.1:9090
      forge canary promote qotm                      # the canary's version becomes stable
      forge canary abort qotm                        # delete the canary
    """
