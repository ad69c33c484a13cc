"""`forge list`, `forge delete`, `forge url`: flags only; the verbs are forge.verbs.deployment's."""

from __future__ import annotations

import click

from forge.commands import profile_choice, service_argument
from forge.commands.options import cluster_options
from forge.verbs import deployment as deployed
from forge.verbs.deploy import Target


def note(line: str) -> None:
    click.echo(line, err=True)


@click.command("list")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@cluster_options
def list_command(output: str, context: str | None, namespace: str | None) -> None:
    """List what forge deployed in the namespace: service, profile, build name, version, readiness.

    \b
    Examples:
      forge list
      forge list -n workshop -o json
    """
    deployed.list_deployed(Target(context, namespace), output, click.echo, note)


@click.command("delete")
@service_argument
@profile_choice
@cluster_options
def delete_command(service: str, canary: bool, profile: str | None, context: str | None,
                   namespace: str | None) -> None:
    """Delete exactly one deployment of SERVICE: the objects forge applied for it in one profile.

    The profile is --profile or FORGE_PROFILE, else --canary or CANARY=true, else default. Only objects that still carry
    forge's labels for that service and profile are deleted.

    \b
    Examples:
      forge delete qotm              # the stable deployment
      forge delete qotm --canary     # only the canary
    """
    deployed.delete(service, profile, canary, Target(context, namespace), click.echo)


@click.command("url")
@service_argument
@profile_choice
@cluster_options
def url_command(service: str, canary: bool, profile: str | None, context: str | None,
                namespace: str | None) -> None:
    """Print a URL that reaches SERVICE from this shell.

    A LoadBalancer address or a NodePort on a node's address when the Service has one; otherwise a local URL, and
    the `kubectl port-forward` command to run first (on stderr).

    \b
    Examples:
      forge url qotm
      curl "$(forge url qotm)/"
    """
    deployed.url(service, profile, canary, Target(context, namespace), click.echo, note)
