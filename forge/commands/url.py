"""`forge url`: flags only; choosing the URL is forge.verbs.url's."""

from __future__ import annotations

import click

from forge.commands.options import cluster_options, output_option, profile_choice, run_context, service_argument


@click.command("url")
@service_argument
@profile_choice
@output_option
@cluster_options
def url_command(service: str, canary: bool, profile: str | None, output: str, context: str | None,
                namespace: str | None) -> None:
    """Print a URL that reaches SERVICE from this shell.

    A LoadBalancer address or a NodePort on a node's address when the Service has one; otherwise a local URL, and
    the `kubectl port-forward` command to run first (on stderr). With -o json: one object with the URL, the
    Service and that command (`first_run`, null when there is none).

    \b
    Examples:
      forge url qotm
      curl "$(forge url qotm)/"
    """
    from forge.verbs.deployment import DeploymentRequest
    from forge.verbs.url import url

    url(DeploymentRequest(service, profile, canary), run_context(context, namespace, product=True, output=output))
