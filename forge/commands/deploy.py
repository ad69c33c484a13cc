"""`forge deploy`: flags only; the deploy is forge.verbs.deploy's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from forge.commands.options import (
    build_arg_option,
    cluster_options,
    paths_argument,
    plan_targets,
    profile_options,
    run_context,
    timeout_option,
)


@click.command("deploy")
@paths_argument
@profile_options
@build_arg_option
@click.option("--dry-run", is_flag=True,
              help="Render, validate and (if a cluster answers) server-side dry run; build, push and apply nothing.")
@timeout_option
@cluster_options
def deploy_command(
    paths: tuple[Path, ...],
    canary: bool,
    profile: str | None,
    branch: str | None,
    overrides: dict[str, Any],
    build_args: dict[str, str],
    dry_run: bool,
    timeout: float,
    context: str | None,
    namespace: str | None,
) -> None:
    """Build, push, render, validate, apply and wait for the services under PATH (default: the current directory).

    Several PATHs (or service names) make one deploy: one plan, one wait, one inventory per service, as if each
    were deployed in turn.

    Images are built only when their tag (a hash of their sources) is missing, and pushed only when the registry
    lacks them. Every object is checked with a server-side dry run before anything is applied; objects this
    service+profile deployed before and no longer renders are deleted; then forge waits for the rollout and says
    why pods are not ready if it does not finish within --timeout.

    \b
    Examples:
      forge deploy                       # the service here (or every service below)
      CANARY=true forge deploy           # the canary build, beside the stable one
      forge deploy qotm --dry-run        # what would change, nothing built or applied
      forge deploy envoy-canary/auth envoy-canary/envoy prometheus-canary
      forge deploy qotm --profile alice  # a copy qotm-alice beside qotm
      forge deploy -n workshop --context kind-kind --timeout 2m
    """
    from forge.verbs.deploy import DeployRequest, deploy

    request = DeployRequest(**plan_targets(paths), profile=profile, canary=canary, branch=branch, overrides=overrides,
                            build_args=build_args, dry_run=dry_run, timeout=timeout)
    deploy(request, run_context(context, namespace))
