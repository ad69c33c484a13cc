"""`forge logs` and `forge port-forward`: a deployed build's pods from this shell."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading

import click

from forge.cluster.endpoints import port_forward
from forge.cluster.listing import build_services, deployed, profile_for
from forge.cluster.logs import follow, show
from forge.commands import profile_choice, service_argument
from forge.commands.inventory import connect
from forge.commands.target import cluster_options
from forge.errors import ForgeError


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
    cluster = connect(context, namespace)
    inv = deployed(cluster, service, profile_for(profile, canary, os.environ))
    if not keep_following:
        show(cluster, inv, click.echo, tail=tail)
        return
    stop = threading.Event()
    # Ctrl-C sets `stop` (follow returns within its 0.1 s tick) rather than raising wherever the main thread is.
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        follow(cluster, inv, click.echo, tail=tail, stop=stop)
    finally:
        signal.signal(signal.SIGINT, previous)
    click.echo(f"stopped following {inv.build_name}", err=True)


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
    cluster = connect(context, namespace)
    inv = deployed(cluster, service, profile_for(profile, canary, os.environ))
    services = build_services(cluster, inv)
    if not services:
        raise ForgeError(f"{inv.build_name}: it has no Service with ports to forward to")
    argv, url = port_forward(cluster, services[0], local)
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise ForgeError(f"kubectl not found on PATH (forge port-forward runs: {' '.join(argv)})")
    click.echo(f"{url} -> Service/{services[0]['metadata']['name']} (Ctrl-C stops)", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(kubectl, argv)
