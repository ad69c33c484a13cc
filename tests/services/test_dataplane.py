"""Issue 4's data-plane checks: real QOTM, auth, Envoy and Prometheus processes on 127.0.0.1, configured by
what forge renders (only addresses and ports swapped for loopback ones). Numbers measured are printed.

The module shares one running stack; each test first puts it in the state it needs (canary up or down, both
stable processes up), so any test also runs alone.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator

import pytest
import requests

from tests.platform.procs import wait_for
from tests.services.rendered import PROMETHEUS_DIR
from tests.services.stack import Stack, failures, start_stack, versions

pytestmark = pytest.mark.dataplane

P95 = "envoy_cluster_name:upstream_rq_time_ms:p95_1m"


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    yield from start_stack(tmp_path_factory.mktemp("dataplane"), secrets.token_urlsafe(24))


def test_without_a_canary_every_request_reaches_stable(stack, report):
    stack.ensure_stables()
    stack.stop_canary()
    fell_back = stack.envoy_counter("cluster.qotm-canary.upstream_rq_completed")
    answers = stack.load(threads=16, count=1000, seconds=90).run()
    fell_back = stack.envoy_counter("cluster.qotm-canary.upstream_rq_completed") - fell_back
    report(f"no canary: {len(answers)} requests, {len(failures(answers))} failed, "
           f"{fell_back} of them were the canary's share served by stable")
    assert len(answers) == 1000
    assert failures(answers) == []
    assert versions(answers) == {"stable": 1000}
    assert {a.user for a in answers} == {"alice"}  # QOTM saw the user the auth service named
    assert fell_back > 50  # the 10% canary share was routed, and fell back to stable


def test_envoy_reuses_its_connections_to_auth(stack, report):
    """Every edge request is an auth check: Envoy keeps its connections to auth open (HTTP/1.1 keep-alive, which
    auth.py serves) instead of paying a TCP handshake per check."""
    stack.ensure_stables()
    checks = stack.envoy_counter("cluster.auth.upstream_rq_total")
    connections = stack.envoy_counter("cluster.auth.upstream_cx_total")
    answers = stack.load(threads=8, count=400, seconds=60).run()
    checks = stack.envoy_counter("cluster.auth.upstream_rq_total") - checks
    connections = stack.envoy_counter("cluster.auth.upstream_cx_total") - connections
    report(f"auth connection reuse: {checks} checks over {connections} new connections")
    assert failures(answers) == []
    assert checks >= 400
    # Opened once, about one per concurrent client (measured: 8 for a fresh stack, 0 when earlier tests opened
    # them); bound with room for the health checker's: a connection per check would be 400.
    assert connections <= 20


def test_canary_gets_its_share_and_the_pin_header_reaches_it(stack, report):
    stack.ensure_stables()
    stack.start_canary()
    stack.canary_traffic_since = time.monotonic()
    answers = stack.load(threads=32, count=4000, seconds=150).run()
    counts = versions(answers)
    share = counts.get("canary", 0) / len(answers)
    report(f"canary running: {len(answers)} requests, {counts}, canary share {share:.1%}, "
           f"{len(failures(answers))} failed")
    assert len(answers) == 4000  # at 10%, the share's standard deviation is 0.5 points: +-2 is 4 of them
    assert failures(answers) == []
    assert set(counts) == {"stable", "canary"}
    assert 0.08 <= share <= 0.12

    with requests.Session() as session:
        pinned = [session.get(f"{stack.edge}/qotm/", headers={**stack.auth_header, "x-canary": "always"}, timeout=10)
                  for _ in range(20)]
    assert [(r.status_code, r.json()["version"]) for r in pinned] == [(200, "canary")] * 20


def test_prometheus_shows_the_canary_p95_400ms_above_stable_within_a_minute(stack, report):
    stack.ensure_stables()
    stack.start_canary()
    since = stack.canary_traffic_since or time.monotonic()
    load = stack.load(threads=6, count=100_000, seconds=75).start()
    p95: dict[str, float] = {}
    try:
        while time.monotonic() < since + 60:
            p95 = stack.values(P95)
            if p95.keys() >= {"qotm", "qotm-canary"} and p95["qotm-canary"] - p95["qotm"] >= 400:
                break
            time.sleep(2)
        elapsed = time.monotonic() - since
        raw = stack.values(_queries()["p95"])
        page = requests.get(f"{stack.prometheus}/consoles/canary.html", timeout=10)
        every_query = {name: stack.query(q) for name, q in _queries().items()}
        # The share is a rate over 1 minute: read it once that minute holds only this load (not the previous
        # test's 32 clients, after which the saturated canary is still draining its queue).
        time.sleep(max(0.0, load.started + 62 - time.monotonic()))
        share = stack.values("envoy_cluster_name:upstream_rq_completed:share1m")
    finally:
        load.stop()
    report(f"Prometheus p95 after {elapsed:.0f}s of canary traffic: recording rule {p95}, queries.md {raw}; "
           f"share over this load's minute {share}")
    assert p95.keys() >= {"qotm", "qotm-canary"}, p95
    assert p95["qotm-canary"] - p95["qotm"] >= 400, p95
    assert elapsed <= 60
    # The exact query of queries.md agrees with the recording rule.
    assert raw["qotm-canary"] - raw["qotm"] >= 400, raw
    assert len(every_query) >= 8  # every promql block of queries.md ran without error
    assert 0.03 < share["qotm-canary"] < 0.2, share
    assert page.status_code == 200, page.text
    cells = dict(re.findall(r'<td class="(\w+ p95)">([^<]+)</td>', page.text))
    assert float(cells["canary p95"]) - float(cells["stable p95"]) >= 300, cells


def test_stopping_the_canary_mid_run_falls_back_within_seconds(stack, report):
    stack.ensure_stables()
    stack.start_canary()
    load = stack.load(threads=16, count=100_000, seconds=40).start()
    time.sleep(3)
    stopped = time.monotonic()
    stack.servers["canary"].stop()
    time.sleep(8)
    answers = load.stop()
    settle = 3.0
    during = [a for a in answers if stopped <= a.started < stopped + settle]
    after = [a for a in answers if a.started >= stopped + settle]
    report(f"canary stopped mid-run: {len(failures(during))} of {len(during)} failed in the first {settle:.0f}s, "
           f"{len(failures(after))} of {len(after)} after")
    assert len(after) >= 200
    assert failures(after) == []
    assert versions(after) == {"stable": len(after)}
    assert versions([a for a in answers if a.started < stopped]).get("canary", 0) > 0


def test_killing_a_stable_process_under_load_keeps_the_edge_answering(stack, report):
    stack.stop_canary()
    stack.ensure_stables()
    load = stack.load(threads=16, count=100_000, seconds=40).start()
    time.sleep(3)
    killed = time.monotonic()
    stack.servers["stable1"].kill()
    time.sleep(7)
    answers = load.stop()
    failed = failures(answers)
    after = [a for a in answers if a.started >= killed]
    report(f"stable process killed under load: {len(failed)} of {len(answers)} requests failed "
           f"({len(failed) / len(answers):.3%}); {len(after)} requests after the kill")
    assert len(after) >= 200
    assert len(failed) / len(answers) < 0.01
    stack.ensure_stables()


def test_token_auth_at_the_edge_and_fail_closed_when_auth_is_down(stack, report):
    stack.ensure_stables()
    url = f"{stack.edge}/qotm/"
    with requests.Session() as session:
        missing = session.get(url, timeout=10)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert session.get(url, headers={"Authorization": "Bearer not-a-token"}, timeout=10).status_code == 403
        assert session.get(url, headers={"Authorization": "Basic YWxpY2U6eA=="}, timeout=10).status_code == 401
        # A user header from the client never reaches QOTM: only the auth service names the user.
        spoofed = session.get(url, headers={"x-authenticated-as": "mallory"}, timeout=10)
        assert spoofed.status_code == 401
        allowed = session.get(url, headers={**stack.auth_header, "x-authenticated-as": "mallory"}, timeout=10)
        assert allowed.status_code == 200
        assert allowed.json()["user"] == "alice"
        assert session.get(f"{stack.edge}/healthz", timeout=10).status_code == 200  # no auth for the probe

        stack.servers["auth"].stop()
        try:
            statuses = [session.get(url, headers=stack.auth_header, timeout=10).status_code for _ in range(50)]
            wait_for(lambda: stack.host_flags("auth", stack.ports["auth"]) != "healthy", 30, "auth marked down")
            statuses += [session.get(url, headers=stack.auth_header, timeout=10).status_code for _ in range(50)]
        finally:
            stack.servers["auth"].start()
    report(f"auth stopped: statuses {sorted(set(statuses))} over {len(statuses)} requests")
    assert set(statuses) == {503}


def _queries() -> dict[str, str]:
    """The promql blocks of queries.md, named by order; the p95 one also as "p95"."""
    text = (PROMETHEUS_DIR / "queries.md").read_text()
    blocks = re.findall(r"^```promql\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    named = {f"query {i + 1}": block.strip() for i, block in enumerate(blocks)}
    (p95,) = [q for q in named.values() if q.startswith("histogram_quantile(0.95") and "envoy_cluster" in q]
    return {**named, "p95": p95}
