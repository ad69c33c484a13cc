"""`forge deploy` and `forge dev`: flags only; the verbs are forge.verbs.deploy.deploy and forge.verbs.dev.dev."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from forge.commands import build_arg_option, path_argument, profile_options
from forge.commands.options import cluster_options, timeout_option
from forge.verbs.deploy import DeployRequest, Target, deploy
from forge.verbs.dev import dev


@click.command("deploy")
@path_argument
@profile_options
@build_arg_option
@click.option("--dry-run", is_flag=True,
              help="Render, validate and (if a cluster answers) server-side dry run; build, push and apply nothing.")
@timeout_option
@cluster_options
def deploy_command(
    path: Path,
    canary: bool,
    profile: str | None,
    overrides: dict[str, Any],
    build_args: dict[str, str],
    dry_run: bool,
    timeout: float,
    context: str | None,
    namespace: str | None,
) -> None:
    """Build, push, render, validate, apply and wait for the services under PATH (default: the current directory).

    Images are built only when their tag (a hash of their sources) is missing, and pushed only when the registry
    lacks them. Every object is checked with a server-side dry run before anything is applied; objects this
    service+profile deployed before and no longer renders are deleted; then forge waits for the rollout and says
    why pods are not ready if it does not finish within --timeout.

    \b
    Examples:
      forge deploy                       # the service here (or every service below)
      CANARY=true forge deploy           # the canary build, beside the stable one
      forge deploy qotm --dry-run        # what would change, nothing built or applied
      forge deploy -n workshop --context kind-kind --timeout 2m
    """
    request = DeployRequest(
        path=path, target=Target(context, namespace), profile=profile, canary=canary, overrides=overrides,
        build_args=build_args, dry_run=dry_run, timeout=timeout,
    )
    deploy(request, click.echo)


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
    request = DeployRequest(
        path=options["path"], target=Target(options["context"], options["namespace"]), profile=options["profile"],
        canary=options["canary"], overrides=options["overrides"], build_args=options["build_args"],
        timeout=options["timeout"],
    )
    dev(request, click.echo, lambda line: click.echo(line, err=True), interval=interval, max_deploys=max_deploys)
