"""`forge logs` and `forge port-forward`: flags only; the verbs are forge.verbs.deployment's."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click

from forge.commands import profile_choice, service_argument
from forge.commands.list import note
from forge.commands.options import cluster_options
from forge.verbs import deployment as deployed
from forge.verbs.deploy import Target


@contextmanager
def ctrl_c_sets() -> Iterator[threading.Event]:
    """An Event that Ctrl-C sets (the follower returns within its 0.1 s tick) rather than raising wherever the main
    thread is."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


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

    The deployment is chosen as for `forge url` (--profile, --canary, FORGE_PROFILE, CANARY=true, else default).

    \b
    Examples:
      forge logs qotm                   # what every qotm pod logged so far
      forge logs qotm --canary -f       # follow the canary's pods (Ctrl-C stops)
      forge logs envoy --tail 20
    """
    target = Target(context, namespace)
    if not keep_following:
        deployed.logs(service, profile, canary, target, click.echo, note, tail=tail)
        return
    with ctrl_c_sets() as stop:
        deployed.logs(service, profile, canary, target, click.echo, note, tail=tail, stop=stop)


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
    deployed.port_forward(service, profile, canary, local, Target(context, namespace), note)
