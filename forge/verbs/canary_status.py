"""Stable vs canary, side by side, from Envoy's native cluster stats in Prometheus.

The Envoy clusters are named after the builds: `<service>` (stable) and `<service>-canary`. Per cluster, over a
rate window: requests/s and share of traffic (`upstream_rq_completed`, which also counts ext_authz denials),
p50/p95 latency (`upstream_rq_time` histogram, milliseconds) and the 5xx rate (5xx class / completed). Queries go
straight to the raw metrics, so any Prometheus that scrapes Envoy works, with or without recording rules.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from forge.context import Context
from forge.prometheus import Query


@dataclass(frozen=True)
class StatusRequest:
    service: str
    prometheus: str  # base URL (--prometheus, else $FORGE_PROMETHEUS_URL)
    window: str = "1m"
    max_p95_ratio: float | None = None
    max_error_rate: float | None = None


@dataclass
class Side:
    cluster: str
    seen: bool = False  # Prometheus has any stats for this cluster
    rps: float | None = None  # requests per second over the window
    share: float | None = None  # 0..1 of the service's requests
    p50_ms: float | None = None
    p95_ms: float | None = None
    error_rate: float | None = None  # 5xx / completed, 0..1
    healthy_hosts: float | None = None  # Envoy's healthy members of this cluster (and of `<cluster>-*` members)


@dataclass
class Check:
    name: str  # the option, e.g. "max-p95-ratio"
    limit: float
    value: float | None  # None: no data to judge
    ok: bool


@dataclass
class Status:
    service: str
    window: str
    stable: Side
    canary: Side
    p95_ratio: float | None = None  # canary p95 / stable p95
    checks: list[Check] = field(default_factory=list)
    problem: str | None = None  # why some numbers are missing (no data / no traffic)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return _finite(data)


def queries(service: str, window: str) -> dict[str, str]:
    """The PromQL for each number, every one grouped by envoy_cluster_name."""
    clusters = f'envoy_cluster_name=~"{service}|{service}-canary"'
    per_cluster = "sum by (envoy_cluster_name)"
    histogram = f"sum by (envoy_cluster_name, le) (rate(envoy_cluster_upstream_rq_time_bucket{{{clusters}}}[{window}]))"
    return {
        "seen": f"count by (envoy_cluster_name) (envoy_cluster_upstream_rq_completed{{{clusters}}})",
        "rps": f"{per_cluster} (rate(envoy_cluster_upstream_rq_completed{{{clusters}}}[{window}]))",
        "errors": f'{per_cluster} (rate(envoy_cluster_upstream_rq_xx{{{clusters},envoy_response_code_class="5"}}'
                  f"[{window}]))",
        "p50": f"histogram_quantile(0.5, {histogram})",
        "p95": f"histogram_quantile(0.95, {histogram})",
        # The canary's healthy hosts, its own and those of clusters behind it (`<svc>-canary-pods` when the
        # canary cluster is an aggregate that falls back to stable), labelled as the canary cluster.
        "healthy": f'label_replace(sum(envoy_cluster_membership_healthy{{envoy_cluster_name=~"{service}-canary(-.+)?"}}'
                   f'), "envoy_cluster_name", "{service}-canary", "", "")',
    }


def status(req: StatusRequest, ctx: Context) -> Status:
    """`forge canary status`: print the comparison (a table, or JSON with --output json) and return it; the caller
    exits 1 when a check failed (`Status.ok`)."""
    found = judge(collect(req.service, ctx.backends.prometheus(req.prometheus), req.window),
                  max_p95_ratio=req.max_p95_ratio, max_error_rate=req.max_error_rate)
    ctx.out.result(render_table(found), {"prometheus": req.prometheus, **found.to_json()})
    return found


def collect(service: str, query: Query, window: str = "1m") -> Status:
    """Ask Prometheus for both clusters' numbers (without thresholds)."""
    stable, canary = Side(service), Side(f"{service}-canary")
    sides = {side.cluster: side for side in (stable, canary)}
    values = {name: _by_cluster(query(promql)) for name, promql in queries(service, window).items()}
    for name, side in sides.items():
        side.seen = name in values["seen"]
        side.rps = values["rps"].get(name)
        side.p50_ms = values["p50"].get(name)
        side.p95_ms = values["p95"].get(name)
        side.healthy_hosts = values["healthy"].get(name)
        if side.rps:
            side.error_rate = values["errors"].get(name, 0.0) / side.rps
    total = sum(side.rps or 0.0 for side in sides.values())
    for side in sides.values():
        if total > 0:
            side.share = (side.rps or 0.0) / total
    status = Status(service, window, stable, canary)
    status.p95_ratio = _ratio(canary.p95_ms, stable.p95_ms)
    status.problem = _problem(status)
    return status


def judge(status: Status, *, max_p95_ratio: float | None = None, max_error_rate: float | None = None) -> Status:
    """Add the threshold checks that were asked for; a check without data to judge fails."""
    # With no healthy canary host, Envoy serves the canary's share from stable: its numbers are not the canary's.
    judgeable = status.canary.healthy_hosts != 0
    asked = (("max-p95-ratio", max_p95_ratio, status.p95_ratio if judgeable else None),
             ("max-error-rate", max_error_rate, status.canary.error_rate if judgeable else None))
    status.checks = [Check(name, limit, value, value is not None and value <= limit)
                     for name, limit, value in asked if limit is not None]
    return status


def render_table(status: Status) -> str:
    """The human view: one column per cluster, then the ratio, the checks and any problem."""
    rows = [
        ("", f"stable ({status.stable.cluster})", f"canary ({status.canary.cluster})"),
        ("requests/s", *(_num(s.rps, "{:.2f}") for s in (status.stable, status.canary))),
        ("share", *(_num(s.share, "{:.1%}") for s in (status.stable, status.canary))),
        ("p50 latency", *(_num(s.p50_ms, "{:.1f} ms") for s in (status.stable, status.canary))),
        ("p95 latency", *(_num(s.p95_ms, "{:.1f} ms") for s in (status.stable, status.canary))),
        ("5xx rate", *(_num(s.error_rate, "{:.2%}") for s in (status.stable, status.canary))),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{status.service}: stable vs canary over the last {status.window}", ""]
    for row in rows:
        cells = [cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    lines += ["", f"p95 canary/stable: {_num(status.p95_ratio, '{:.2f}x')}"]
    for check in status.checks:
        verdict = "ok" if check.ok else ("FAILED (no data)" if check.value is None else "FAILED")
        lines.append(f"--{check.name} {check.limit:g}: {_num(check.value, '{:.4g}')} {verdict}")
    if status.problem:
        lines += ["", status.problem]
    return "\n".join(lines)


def _by_cluster(result: list[dict[str, Any]]) -> dict[str, float]:
    """{cluster: value} from an instant-query vector, dropping NaN (no requests in the window)."""
    values = {}
    for sample in result:
        name = sample.get("metric", {}).get("envoy_cluster_name")
        value = float(sample["value"][1])
        if name and not math.isnan(value):
            values[name] = value
    return values


def _ratio(canary: float | None, stable: float | None) -> float | None:
    if canary is None or stable is None:
        return None
    if stable == 0:
        return 1.0 if canary == 0 else math.inf
    return canary / stable


def _problem(status: Status) -> str | None:
    stable, canary, window = status.stable, status.canary, status.window
    if not stable.seen and not canary.seen:
        return (f"no data: Prometheus has no Envoy stats for clusters {stable.cluster} or {canary.cluster} "
                "(is Envoy scraped, and are its clusters named after the builds?)")
    if not canary.seen:
        return f"no data for {canary.cluster}: is the canary deployed (CANARY=true forge deploy) and routed to?"
    if not stable.seen:
        return f"no data for {stable.cluster}: is the stable build deployed and routed to?"
    if canary.healthy_hosts == 0:
        return (f"{canary.cluster} has no healthy hosts: its share is served by stable, so its numbers are stable's "
                "(is the canary deployed and ready?)")
    if not stable.rps and not canary.rps:
        return f"no traffic: neither cluster answered a request in the last {window}"
    if not canary.rps:
        return f"no canary traffic in the last {window}: check the route's weights"
    if not stable.rps:
        return f"no stable traffic in the last {window}: the canary gets everything"
    if canary.p95_ms is None or stable.p95_ms is None:
        return "no latency data yet: Envoy publishes histograms every few seconds"
    return None


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def _finite(data: Any) -> Any:
    """JSON has no NaN or infinity: those become null."""
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_finite(v) for v in data]
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data
