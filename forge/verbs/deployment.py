"""The verbs on what forge deployed in a namespace (read from its inventories): list, delete, url, logs,
port-forward. One function each, without click: the commands in forge/commands/ only parse flags."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from collections.abc import Callable, Mapping

from forge.cluster.endpoints import port_forward as forward_argv
from forge.cluster.kube import ObjectRef
from forge.cluster.listing import build_endpoints, build_services, deployed, profile_for, rows, table
from forge.cluster.logs import follow, show
from forge.cluster.prune import delete_build
from forge.errors import ForgeError
from forge.verbs.deploy import REAL, Backends, Say, Target

Exec = Callable[[str, list[str]], None]


def list_deployed(target: Target, output: str, say: Say, note: Say, backends: Backends = REAL) -> None:
    """`forge list`: a table (or JSON with output="json") of every build forge deployed in the namespace."""
    cluster = target.connect_here(backends)
    found = rows(cluster)
    if output == "json":
        say(json.dumps([r.to_dict() for r in found], indent=2))
    elif found:
        say(table(found))
    else:
        note(f"nothing deployed by forge in namespace {cluster.namespace} (context {cluster.context})")


def delete(service: str, profile: str | None, canary: bool, target: Target, say: Say, *,
           env: Mapping[str, str] = os.environ, backends: Backends = REAL) -> list[ObjectRef]:
    """`forge delete`: one deployment of SERVICE (one profile); the objects deleted."""
    cluster = target.connect_here(backends)
    say(cluster.target())
    inv = deployed(cluster, service, profile_for(profile, canary, env))
    say(f"deleting {inv.build_name} (service {inv.service}, profile {inv.profile}, version {inv.version})")
    return delete_build(cluster, inv, say)


def url(service: str, profile: str | None, canary: bool, target: Target, say: Say, note: Say, *,
        env: Mapping[str, str] = os.environ, backends: Backends = REAL) -> str:
    """`forge url`: the best URL of SERVICE from this shell (printed with `say`; a port-forward to run first goes
    to `note`)."""
    cluster = target.connect_here(backends)
    inv = deployed(cluster, service, profile_for(profile, canary, env))
    found = build_endpoints(cluster, inv)
    if not found:
        raise ForgeError(f"{inv.build_name}: it has no Service with ports to reach")
    best = found[0]
    if best.command:
        note(f"{best.service} is not exposed outside the cluster; first run: {best.command}")
    say(best.url)
    return best.url


def logs(service: str, profile: str | None, canary: bool, target: Target, say: Say, note: Say, *,
         tail: int | None, stop: threading.Event | None = None, env: Mapping[str, str] = os.environ,
         backends: Backends = REAL) -> None:
    """`forge logs`: what the build's pods logged; with `stop`, keep following until it is set."""
    cluster = target.connect_here(backends)
    inv = deployed(cluster, service, profile_for(profile, canary, env))
    if stop is None:
        show(cluster, inv, say, tail=tail)
        return
    follow(cluster, inv, say, tail=tail, stop=stop)
    note(f"stopped following {inv.build_name}")


def port_forward(service: str, profile: str | None, canary: bool, local: int | None, target: Target, note: Say, *,
                 env: Mapping[str, str] = os.environ, backends: Backends = REAL, exec_: Exec = os.execv) -> None:
    """`forge port-forward`: replace this process with `kubectl port-forward` to the build's main Service."""
    cluster = target.connect_here(backends)
    inv = deployed(cluster, service, profile_for(profile, canary, env))
    services = build_services(cluster, inv)
    if not services:
        raise ForgeError(f"{inv.build_name}: it has no Service with ports to forward to")
    argv, address = forward_argv(cluster, services[0], local)
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise ForgeError(f"kubectl not found on PATH (forge port-forward runs: {' '.join(argv)})")
    note(f"{address} -> Service/{services[0]['metadata']['name']} (Ctrl-C stops)")
    sys.stdout.flush()
    sys.stderr.flush()
    exec_(kubectl, argv)
