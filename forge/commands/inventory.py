"""`forge list`, `forge delete`, `forge url`: what forge deployed in a namespace, read from its inventories."""

from __future__ import annotations

import json
import os

import click

from forge.cluster.kube import Cluster
from forge.cluster.listing import build_endpoints, deployed, profile_for, rows, table
from forge.cluster.prune import delete_build
from forge.commands import profile_choice, service_argument
from forge.commands.target import cluster_options
from forge.config.workspace import load_workspace
from forge.deploy import Target
from forge.errors import ForgeError


def connect(context: str | None, namespace: str | None) -> Cluster:
    """The cluster, with forge.yaml's namespace when the current directory is in a workspace."""
    return Target(context, namespace).connect(load_workspace(os.getcwd()))


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
    cluster = connect(context, namespace)
    found = rows(cluster)
    if output == "json":
        click.echo(json.dumps([r.to_dict() for r in found], indent=2))
    elif found:
        click.echo(table(found))
    else:
        click.echo(f"nothing deployed by forge in namespace {cluster.namespace} (context {cluster.context})", err=True)


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
    cluster = connect(context, namespace)
    click.echo(cluster.target())
    inv = deployed(cluster, service, profile_for(profile, canary, os.environ))
    click.echo(f"deleting {inv.build_name} (service {inv.service}, profile {inv.profile}, version {inv.version})")
    delete_build(cluster, inv, click.echo)


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
    cluster = connect(context, namespace)
    inv = deployed(cluster, service, profile_for(profile, canary, os.environ))
    found = build_endpoints(cluster, inv)
    if not found:
        raise ForgeError(f"{inv.build_name}: it has no Service with ports to reach")
    best = found[0]
    if best.command:
        click.echo(f"{best.service} is not exposed outside the cluster; first run: {best.command}", err=True)
    click.echo(best.url)
