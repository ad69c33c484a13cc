"""`forge canary status`: flags only; the comparison is forge.verbs.canary_status's."""

from __future__ import annotations

import re

import click

from forge.commands.options import output_option, run_context
from forge.errors import UsageError

PROMETHEUS_ENV = "FORGE_PROMETHEUS_URL"
WINDOW = r"^[1-9][0-9]*[smh]$"  # a Prometheus duration


@click.command("status")
@click.argument("service")
@click.option("--prometheus", "url", envvar=PROMETHEUS_ENV, metavar="URL",
              help=f"Prometheus base URL (default: ${PROMETHEUS_ENV}).")
@click.option("--window", default="1m", show_default=True, metavar="DURATION",
              help="Rate window, a Prometheus duration such as 30s, 1m, 5m.")
@click.option("--max-p95-ratio", type=click.FloatRange(min=0, min_open=True), metavar="X",
              help="Fail (exit 1) when canary p95 / stable p95 is above X.")
@click.option("--max-error-rate", type=click.FloatRange(0, 1), metavar="Y",
              help="Fail (exit 1) when the canary's 5xx rate (0..1) is above Y.")
@output_option
def status_command(service: str, url: str | None, window: str, max_p95_ratio: float | None,
                   max_error_rate: float | None, output: str) -> None:
    """Stable SERVICE vs SERVICE-canary from Prometheus: requests/s, share of traffic, p50/p95 latency, 5xx rate.

    Reads Envoy's native cluster stats (clusters named after the builds). With --max-p95-ratio and/or
    --max-error-rate the exit code gates a promotion: 0 when every check passes, 1 when one fails or has no
    data to judge. Without thresholds it exits 0, also when there is no traffic or no data yet (it says so).

    \b
    Examples:
      kubectl port-forward svc/prometheus 9090:9090 &
      export FORGE_PROMETHEUS_URL=http://127.0.0.1:9090
      forge canary status qotm
      forge canary status qotm --max-p95-ratio 1.5 --max-error-rate 0.01 && forge canary promote qotm
      forge canary status qotm -o json
    """
    from forge.model import DNS_LABEL

    if not re.match(DNS_LABEL, service):
        raise UsageError(f"{service!r} is not a service name (a DNS label such as qotm)")
    if not re.match(WINDOW, window):
        raise UsageError(f"--window: {window!r} is not a duration like 30s, 1m or 5m")
    if not url:
        raise UsageError("no Prometheus", hint=f"pass --prometheus URL or set {PROMETHEUS_ENV}, e.g. `kubectl "
                         "port-forward svc/prometheus 9090:9090` and --prometheus http://127.0.0.1:9090")
    from forge.verbs.canary_status import StatusRequest, status

    request = StatusRequest(service, url, window, max_p95_ratio=max_p95_ratio, max_error_rate=max_error_rate)
    if not status(request, run_context(product=True, output=output)).ok:
        click.get_current_context().exit(1)
