"""`forge setup`: flags and prompts; the checks and the writing are forge.verbs.setup's."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from forge.commands.options import run_context


def can_prompt() -> bool:
    return sys.stdin.isatty()


def _ask(prompt: str, default: Any, kind: Any) -> Any:
    if isinstance(kind, range):
        kind = click.IntRange(kind.start, kind.stop - 1)
    return click.prompt(prompt, default=default if default is not None else "", type=kind,
                        show_default=default is not None)


@click.command("setup")
@click.argument("directory", required=False, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--registry", metavar="HOST[:PORT][/PATH]",
              help="Where images go, e.g. localhost:5001 or docker.io/alice.")
@click.option("-n", "--namespace", metavar="NAMESPACE", help="Default Kubernetes namespace for deploys.")
@click.option("--concurrency", type=click.IntRange(1, 64), help="How many images to build at once.  [default: 4]")
@click.option("--context", metavar="CONTEXT", help="kubeconfig context to check (default: the current one).")
@click.option("--skip-cluster", is_flag=True, help="Do not check the cluster (e.g. it is not created yet).")
@click.option("--pod-security", type=click.Choice(["enforce", "warn", "off"]), default="enforce",
              show_default=True, help='Label the namespace to enforce (or only warn about) Pod Security "restricted".')
@click.option("-y", "--yes", is_flag=True, help="Ask nothing: take flags, else current settings, else defaults.")
def setup_command(directory: Path | None, registry: str | None, namespace: str | None, concurrency: int | None,
                  context: str | None, skip_cluster: bool, pod_security: str, yes: bool) -> None:
    """Check that Docker, the cluster and the registry work, then write forge.yaml.

    The registry check builds a tiny image locally (FROM scratch, one small file; nothing is pulled), pushes it
    as forge-setup-check:1 and reads it back. When the cluster was checked, the namespace forge deploys to (the
    one given, else the context's; created if missing) is then labelled for Pod Security "restricted": the API
    server refuses (--pod-security warn: only warns about) pods that could run as root, escalate privileges or
    run without a seccomp profile. forge.yaml goes to DIRECTORY, or else to the forge.yaml of the
    workspace around the current directory, or else to the current directory. Missing values are asked for
    on a terminal; with --yes (or without a terminal) the current forge.yaml, the cluster's advertised local
    registry and the defaults are used.

    \b
    Examples:
      forge setup                                   # asks, checks, writes ./forge.yaml
      forge setup --registry localhost:5001 -n workshop --yes
      forge setup --yes --pod-security warn         # admit non-compliant pods, with a warning
      forge setup --registry docker.io/alice --skip-cluster --yes   # after `docker login`
    """
    from forge.verbs.setup import SetupRequest, setup

    request = SetupRequest(directory, registry, namespace, concurrency, skip_cluster, pod_security,
                           ask=_ask if can_prompt() and not yes else None)
    setup(request, run_context(context))
