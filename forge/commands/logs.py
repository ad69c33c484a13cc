"""`forge logs`: flags and Ctrl-C; reading the logs is forge.verbs.logs's."""

from __future__ import annotations

import click

from forge.commands.options import cluster_options, profile_choice, run_context, service_argument


@click.command("logs")
@service_argument
@profile_choice
@click.option("-f", "--follow", "keep_following", is_flag=True,
              help="Keep streaming, including pods that start later, until Ctrl-C.")
@click.option("--tail", type=click.IntRange(min=0), metavar="N",
              help="Only the last N lines of each container at first (default: all).")
@cluster_options
def logs_command(service: str, canary: bool, profile: str | None, keep_following: bool, tail: int | None,
                 context: str | None, namespace: str | None) -> None:
    """Print the logs of every pod of SERVICE, each line prefixed with [pod] (or [pod/container]).

    The deployment is chosen as for `forge url` (--profile, --canary, FORGE_PROFILE, CANARY=true, `branches`, default).

    \b
    Examples:
      forge logs qotm                   # what every qotm pod logged so far
      forge logs qotm --canary -f       # follow the canary's pods (Ctrl-C stops)
      forge logs envoy --tail 20
    """
    from forge.verbs.logs import LogsRequest, ctrl_c_sets, logs

    ctx = run_context(context, namespace, product=True)
    if not keep_following:
        logs(LogsRequest(service, profile, canary, tail=tail), ctx)
        return
    with ctrl_c_sets() as stop:
        logs(LogsRequest(service, profile, canary, tail=tail, stop=stop), ctx)
