"""`forge dev`: flags only; the loop is forge.verbs.dev's."""

from __future__ import annotations

from typing import Any

import click

from forge.commands.options import (
    build_arg_option,
    cluster_options,
    path_argument,
    profile_options,
    run_context,
    timeout_option,
)


@click.command("dev")
@path_argument
@profile_options
@build_arg_option
@timeout_option
@click.option("--interval", type=click.FloatRange(0.1, 60), default=1.0, show_default=True, metavar="SECONDS",
              help="How often to look for changed files.")
@click.option("--max-deploys", type=click.IntRange(min=1), metavar="N",
              help="Stop after N deploys (for scripts and tests); default: until Ctrl-C.")
@cluster_options
def dev_command(interval: float, max_deploys: int | None, **options: Any) -> None:
    """Deploy the services under PATH, stream their pods' logs, and deploy again whenever a file changes.

    Each round is a `forge deploy`: only images whose sources changed are rebuilt and pushed (their tags are
    content hashes), then forge waits for the rollout and follows the new pods' logs. A failed round (a build
    error, a bad template) is reported and the loop goes on: fix the file and save. Ctrl-C stops watching and
    leaves the deployment as it is (forge prints how to delete it).

    \b
    Examples:
      forge dev qotm                   # edit qotm/qotm.py, save, watch the new pods' logs
      CANARY=true forge dev qotm       # iterate on the canary beside the stable build
    """
    from forge.verbs.deploy import DeployRequest
    from forge.verbs.dev import DevRequest, dev

    request = DeployRequest(path=options["path"], profile=options["profile"], canary=options["canary"],
                            branch=options["branch"], overrides=options["overrides"], build_args=options["build_args"],
                            timeout=options["timeout"])
    dev(DevRequest(request, interval, max_deploys), run_context(options["context"], options["namespace"]))
