"""`forge logs`: what the pods of a deployed service logged, each line prefixed with its pod."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from forge.cluster.logs import follow, show
from forge.context import Context
from forge.verbs.deployment import DeploymentRequest, find


@dataclass(frozen=True)
class LogsRequest(DeploymentRequest):
    tail: int | None = None  # only the last N lines of each container at first
    stop: threading.Event | None = None  # follow (-f) until it is set (Ctrl-C); None: print what is there and return


def logs(req: LogsRequest, ctx: Context) -> None:
    cluster, inv = find(req, ctx)
    if req.stop is None:
        show(cluster, inv, ctx.out, tail=req.tail)
        return
    follow(cluster, inv, ctx.out, tail=req.tail, stop=req.stop)
    ctx.out.info(f"stopped following {inv.build_name}")
