"""`forge delete`: flags only; deleting is forge.verbs.delete's."""

from __future__ import annotations

import click

from forge.commands.options import cluster_options, profile_choice, run_context, services_argument


@click.command("delete")
@services_argument
@profile_choice
@cluster_options
def delete_command(services: tuple[str, ...], canary: bool, profile: str | None, context: str | None,
                   namespace: str | None) -> None:
    """Delete exactly one deployment of each SERVICE: the objects forge applied for it in one profile.

    The profile is --profile or FORGE_PROFILE, else --canary or CANARY=true, else the one service.yaml's `branches`
    give for the current branch (as forge deploy chose it), else default. Only objects that still carry forge's
    labels for that service and profile are deleted. When one SERVICE has no such deployment, nothing is
    deleted.

    \b
    Examples:
      forge delete qotm              # the stable deployment
      forge delete qotm --canary     # only the canary
      forge delete qotm --profile alice
      forge delete auth envoy prometheus
    """
    from forge.verbs.delete import DeleteRequest, delete

    delete(DeleteRequest(services, profile, canary), run_context(context, namespace))
