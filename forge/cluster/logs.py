"""`forge logs`: the logs of every pod of a deployed build, each line prefixed with its pod (and container).

The pods are found by forge's labels on the pod template (service and build name), so ReplicaSets of earlier
versions that are still terminating are included, exactly as `kubectl logs -l` would see them.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from forge.cluster import ClusterAPI
from forge.cluster.inventory import Inventory
from forge.cluster.kube import label_selector
from forge.errors import ForgeError
from forge.model import LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME, MANAGER
from forge.output import Output

POLL_SECONDS = 2.0  # how often `-f` looks for new pods


@dataclass(frozen=True)
class Source:
    """One container of one pod."""

    pod: str
    container: str
    prefix: str  # `[pod]`, or `[pod/container]` when the pod has several containers


def pods(cluster: ClusterAPI, inv: Inventory) -> list[dict[str, Any]]:
    """The pods of the build, by name."""
    wanted = {LABEL_MANAGED_BY: MANAGER, LABEL_NAME: inv.service, LABEL_INSTANCE: inv.build_name}
    listing = cluster.list(f"/api/v1/namespaces/{quote(inv.namespace, safe='')}/pods", label_selector(wanted))
    return sorted(listing, key=lambda p: p["metadata"]["name"])


def sources(found: list[dict[str, Any]]) -> list[Source]:
    result = []
    for pod in found:
        name = pod["metadata"]["name"]
        containers = [c["name"] for c in (pod.get("spec") or {}).get("containers", [])]
        for container in containers:
            result.append(Source(name, container, f"[{name}]" if len(containers) == 1 else f"[{name}/{container}]"))
    return result


def show(cluster: ClusterAPI, inv: Inventory, out: Output, *, tail: int | None) -> None:
    """Print the logs there are now, pod after pod."""
    found = sources(pods(cluster, inv))
    if not found:
        raise ForgeError(f"{inv.build_name}: no pods in namespace {inv.namespace} (scaled to 0, or not created yet)")
    for source in found:
        try:
            text = cluster.pod_logs(inv.namespace, source.pod, source.container, tail=tail)
        except ForgeError as exc:
            out.result(f"{source.prefix} (no logs: {exc})")
            continue
        for line in text.splitlines():
            out.result(f"{source.prefix} {line}")


def follow(cluster: ClusterAPI, inv: Inventory, out: Output, *, tail: int | None, stop: threading.Event,
           poll: float = POLL_SECONDS) -> None:
    """Stream every container's log as lines arrive, picking up pods that start later, until `stop` is set
    (Ctrl-C). A container that cannot give logs yet (still starting) is tried again at the next poll; one whose
    stream ended (its pod is gone) is not."""
    lines: queue.Queue[tuple[Source, str | None]] = queue.Queue()
    seen: set[Source] = set()
    reported: set[Source] = set()

    def stream(source: Source) -> None:
        try:
            for line in cluster.follow_logs(inv.namespace, source.pod, source.container, tail=tail):
                lines.put((source, line))
        except ForgeError as exc:
            if source not in reported:
                reported.add(source)
                lines.put((source, f"(no logs yet: {exc})"))
            lines.put((source, None))  # try again at the next poll

    next_poll = 0.0
    while not stop.is_set():
        if time.monotonic() >= next_poll:
            for source in sources(pods(cluster, inv)):
                if source not in seen:
                    seen.add(source)
                    threading.Thread(target=stream, args=(source,), daemon=True).start()
            next_poll = time.monotonic() + poll
        try:
            source, line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        if line is None:
            seen.discard(source)
        else:
            out.result(f"{source.prefix} {line}")
