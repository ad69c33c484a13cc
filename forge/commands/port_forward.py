"""`forge port-forward`: flags only; the forward is forge.verbs.port_forward's."""

from __future__ import annotations

import click

from forge.commands.options import cluster_options, profile_choice, run_context, service_argument


@click.command("port-forward")
@service_argument
@profile_choice
@click.option("--port", "local", type=click.IntRange(1, 65535), metavar="LOCAL",
              help="Local port (default: the Service's port; 8000 + port below 1024).")
@cluster_options
def port_forward_command(service: str, canary: bool, profile: str | None, local: int | None, context: str | None,
                         namespace: str | None) -> None:
    """Forward a local port to SERVICE's Service (runs `kubectl port-forward` until Ctrl-C).

    The Service is the build's one named like the build, else its first with ports; the URL to use is printed
    first (on stderr).

    \b
    Examples:
      forge port-forward qotm                  # http://127.0.0.1:8080 -> Service/qotm
      forge port-forward prometheus --port 19090
    """
    from forge.verbs.port_forward import PortForwardRequest, port_forward

    port_forward(PortForwardRequest(service, profile, canary, local=local),
                 run_context(context, namespace, product=True))
