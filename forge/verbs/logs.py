"""`forge logs`: what the pods of a deployed service logged, each line prefixed with its pod."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from forge.cluster.logs import follow, show
from forge.context import Context
from forge.verbs.deployment import DeploymentRequest, find


@dataclass(frozen=True)
class LogsRequest(DeploymentRequest):
    tail: int | None = None  # only the last N lines of each container at first
    stop: threading.Event | None = None  # follow (-f) until it is set (Ctrl-C); None: print what is there and return


@contextmanager
def ctrl_c_sets() -> Iterator[threading.Event]:
    """An Event that Ctrl-C sets (the follower returns within its 0.1 s tick) rather than raising wherever the main
    thread is: the `stop` of `forge logs -f`."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def logs(req: LogsRequest, ctx: Context) -> None:
    cluster, inv = find(req, ctx)
    if req.stop is None:
        show(cluster, inv, ctx.out, tail=req.tail)
        return
    follow(cluster, inv, ctx.out, tail=req.tail, stop=req.stop)
    ctx.out.info(f"stopped following {inv.build_name}")
