"""Issue 12's resilience patterns at the edge, each before and after its knob in envoy-canary/envoy/service.yaml:
real Envoy (as forge renders it, the knob set with --set), QOTM, auth and Prometheus on 127.0.0.1. QOTM's faults
are switched per process through its /fault endpoint, as exercise 8 does per pod. Numbers measured are printed.

One stack for the module; every test sets the Envoy config and the faults it needs, so any test also runs alone.
"""

from __future__ import annotations

import secrets
import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.platform.procs import wait_for
from tests.services.stack import Answer, Stack, envoy_server, failures, start_stack

pytestmark = pytest.mark.dataplane

ONLY_STABLE = '{"/qotm/": {qotm: 100}}'  # one routed cluster: its stats and limits are the whole story
RETRY_5XX = "[5xx, connect-failure, refused-stream, reset]"


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    yield from start_stack(tmp_path_factory.mktemp("resilience"), secrets.token_urlsafe(24),
                           envoy_overrides={"routes": ONLY_STABLE})


@pytest.fixture
def edge(stack: Stack) -> Iterator[Stack]:
    """The stack with both stable processes healthy and without faults; faults cleared again afterwards."""
    stack.ensure_stables()
    set_faults(stack, fail_percent=0, delay=0)
    yield stack
    set_faults(stack, fail_percent=0, delay=0)


def set_faults(stack: Stack, servers: tuple[str, ...] = ("stable1", "stable2"), **faults: float) -> None:
    for name in servers:
        answer = requests.put(f"http://127.0.0.1:{stack.ports[name]}/fault", json=faults, timeout=5)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {**answer.json(), **faults}


def configure(stack: Stack, **overrides: Any) -> None:
    """Restart Envoy with `overrides` (service.yaml keys, dotted) on top of the module's routes; wait until it
    sees both stable processes healthy."""
    stack.servers["envoy"].stop()
    stack.servers["envoy"] = envoy_server(stack, {"routes": ONLY_STABLE, **{k: str(v) for k, v in overrides.items()}})
    stack.servers["envoy"].start()
    for name in ("stable1", "stable2"):
        stack.wait_host("qotm", name, healthy=True)


def statuses(answers: list[Answer]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for answer in answers:
        counts[answer.status] = counts.get(answer.status, 0) + 1
    return dict(sorted(counts.items()))


def p99(answers: list[Answer]) -> float:
    return statistics.quantiles([a.elapsed for a in answers], n=100, method="inclusive")[98]


def test_a_route_timeout_turns_a_hanging_upstream_into_fast_504s(edge, report):
    configure(edge)  # today's timeouts: 15 s per request, 5 s per try
    set_faults(edge, delay=2)
    slow = edge.load(threads=2, count=4).run()
    configure(edge, **{"timeouts.request": "0.5s"})
    timed_out = edge.load(threads=2, count=20).run()
    report(f"QOTM 2 s slow: default timeouts {statuses(slow)}, slowest {max(a.elapsed for a in slow):.2f}s; "
           f"request timeout 0.5s {statuses(timed_out)}, p99 {p99(timed_out):.3f}s")
    assert statuses(slow) == {200: 4}
    assert min(a.elapsed for a in slow) >= 2
    assert statuses(timed_out) == {504: 20}
    assert p99(timed_out) < 0.7


def test_a_per_try_timeout_retries_a_slow_pod_on_another(edge, report):
    configure(edge, **{"timeouts.request": "2s", "timeouts.per_try": "0.25s", "retries.retry_on": RETRY_5XX})
    set_faults(edge, ("stable2",), delay=2)
    answers = edge.load(threads=2, count=40).run()
    report(f"one of two pods 2 s slow, per-try timeout 0.25s with retries: {statuses(answers)}, "
           f"slowest {max(a.elapsed for a in answers):.3f}s")
    assert statuses(answers) == {200: 40}
    assert max(a.elapsed for a in answers) < 0.7  # at most one timed-out try before the retry


def test_retries_on_5xx_hide_injected_failures_but_never_repeat_a_post(edge, report):
    configure(edge)
    set_faults(edge, fail_percent=20)
    before = edge.load(threads=8, count=500).run()
    configure(edge, **{"retries.retry_on": RETRY_5XX, "retries.num_retries": 3})
    retried = edge.envoy_counter("cluster.qotm.upstream_rq_retry")
    after = edge.load(threads=8, count=2000).run()
    retried_total = edge.envoy_counter("cluster.qotm.upstream_rq_retry")
    retried = retried_total - retried
    with requests.Session() as session:
        posts = [session.post(f"{edge.edge}/qotm/", headers=edge.auth_header, timeout=10).status_code
                 for _ in range(200)]
    post_503 = posts.count(503) / len(posts)
    post_retries = edge.envoy_counter("cluster.qotm.upstream_rq_retry") - retried_total
    before_rate, after_rate = len(failures(before)) / len(before), len(failures(after)) / len(after)
    report(f"20% injected 503: no 5xx retries {before_rate:.1%} failed of {len(before)}; retries on 5xx "
           f"{after_rate:.2%} failed of {len(after)} ({retried} retries); POST (never retried) {post_503:.0%} 503")
    assert 0.12 <= before_rate <= 0.28
    assert set(statuses(before)) == {200, 503}
    assert len(after) == 2000
    assert after_rate < 0.01
    assert retried >= 300  # about 20% of 2000 tries failed and were retried
    assert 0.1 <= post_503 <= 0.3 and set(posts) == {405, 503}  # QOTM has no POST: 405, or the injected 503
    assert post_retries == 0


def test_a_circuit_breaker_fails_fast_only_above_its_limit(edge, report):
    # max_requests: requests in flight to the cluster. Its overflow counter is upstream_rq_active_overflow
    # (upstream_rq_pending_overflow counts max_pending_requests, requests queued for a connection).
    configure(edge, **{"circuit_breakers.max_requests": 4})
    set_faults(edge, delay=0.2)
    overflow = "cluster.qotm.upstream_rq_active_overflow"
    at_limit = edge.load(threads=4, count=60).run()
    overflowed_at_limit = edge.envoy_counter(overflow)
    above = edge.load(threads=16, count=300).start()
    with requests.Session() as session:
        probes = [session.get(f"{edge.edge}/qotm/", headers=edge.auth_header, timeout=10) for _ in range(20)]
    above_answers = above.wait()
    overflowed = edge.envoy_counter(overflow) - overflowed_at_limit
    rejected = [p for p in probes if p.status_code == 503]
    in_prometheus: dict[str, float] = {}

    def prometheus_shows_it() -> bool:
        in_prometheus.update(edge.values('envoy_cluster_upstream_rq_active_overflow{envoy_cluster_name="qotm"}'))
        return in_prometheus.get("qotm", 0) > 0

    wait_for(prometheus_shows_it, 30, "Prometheus showing the overflow counter")
    report(f"max_requests 4, QOTM 0.2 s: 4 clients {statuses(at_limit)}; 16 clients {statuses(above_answers)}, "
           f"{overflowed} overflowed (Envoy), Prometheus {in_prometheus}")
    assert statuses(at_limit) == {200: 60}
    assert overflowed_at_limit == 0
    assert set(statuses(above_answers)) == {200, 503}
    assert overflowed >= statuses(above_answers)[503]
    assert rejected and all(p.headers.get("x-envoy-overloaded") == "true" for p in rejected)
    fast = sorted(a.elapsed for a in above_answers if a.status == 503)
    assert fast[len(fast) // 2] < 0.05 and fast[-1] < 0.2  # failed fast: never waited for QOTM's 0.2 s
    assert edge.envoy_counter("cluster.qotm.upstream_rq_pending_overflow") == 0


def test_outlier_detection_ejects_a_failing_pod_and_takes_it_back(edge, report):
    # Today's outlier detection (5 consecutive 5xx, 10 s ejection, checked every 5 s) with retries on 5xx, as the
    # exercise has them by then: retries hide the bad pod's errors, the ejection stops sending it traffic at all.
    configure(edge, **{"retries.retry_on": RETRY_5XX})
    ejected, retries = "cluster.qotm.outlier_detection.ejections_active", "cluster.qotm.upstream_rq_retry"
    set_faults(edge, ("stable2",), fail_percent=100)
    load = edge.load(threads=8, count=3000).start()
    wait_for(lambda: edge.envoy_counter(ejected) == 1, 10, "the failing process ejected")
    ejected_after = time.monotonic() - load.started
    time.sleep(1.5)  # measured: the ejected host still gets requests for up to about a second
    retried_while_ejected = edge.envoy_counter(retries)
    answers = load.wait()
    retried_while_ejected = edge.envoy_counter(retries) - retried_while_ejected
    late = [a for a in answers if a.started > load.started + ejected_after + 1.5]
    flags = edge.host_flags("qotm", edge.ports["stable2"])
    set_faults(edge, ("stable2",), fail_percent=0)
    healed = time.monotonic()
    wait_for(lambda: edge.envoy_counter(ejected) == 0, 20, "the healed process back in rotation")
    back_after = time.monotonic() - healed
    rate = len(failures(answers)) / len(answers)
    report(f"one of two processes failing every request, retries on 5xx: ejected {ejected_after:.1f}s into the "
           f"load; {len(failures(answers))} of {len(answers)} failed ({rate:.2%}); {retried_while_ejected} retries "
           f"in the {len(late)} requests once ejected; healed, back in rotation after {back_after:.1f}s")
    assert ejected_after < 10
    assert "failed_outlier_check" in flags  # still ejected at the end of the load: no health check took it back
    assert len(answers) == 3000 and len(late) >= 500
    assert rate < 0.01
    assert retried_while_ejected == 0  # nothing went to the ejected process, so nothing needed a retry
    assert back_after < 20  # the 10 s ejection, plus up to one 5 s detection interval


def test_the_local_rate_limit_answers_429_above_the_configured_rate(edge, report):
    configure(edge, **{"local_rate_limit.enabled": "true", "local_rate_limit.max_tokens": 10,
                       "local_rate_limit.tokens_per_fill": 5, "local_rate_limit.fill_interval": "0.1s"})
    limit = 50  # requests/s: 5 tokens every 0.1 s
    load = edge.load(threads=8, count=100_000, seconds=6).start()
    with requests.Session() as session:
        time.sleep(1)
        limited = [session.get(f"{edge.edge}/qotm/", headers=edge.auth_header, timeout=10) for _ in range(20)]
        health = [session.get(f"{edge.edge}/healthz", timeout=10).status_code for _ in range(20)]
    answers = load.wait()
    elapsed = max(a.started + a.elapsed for a in answers) - load.started
    passed = statuses(answers).get(200, 0) / elapsed
    offered = len(answers) / elapsed
    limited_in_prometheus: dict[str, float] = {}

    def prometheus_counts_them() -> bool:  # the query of exercise 8
        limited_in_prometheus.update(edge.values(
            'envoy_http_local_rate_limit_rate_limited{envoy_local_http_ratelimit_prefix="edge_rate_limit"}',
            label="envoy_local_http_ratelimit_prefix"))
        return limited_in_prometheus.get("edge_rate_limit", 0) >= statuses(answers).get(429, 1)

    wait_for(prometheus_counts_them, 30, "Prometheus counting the 429s")
    report(f"rate limit {limit}/s: offered {offered:.0f}/s, passed {passed:.1f}/s, {statuses(answers)}; "
           f"Prometheus {limited_in_prometheus}")
    assert set(statuses(answers)) == {200, 429}
    assert offered > 2 * limit
    assert abs(passed - limit) <= 0.1 * limit
    rejected = [r for r in limited if r.status_code == 429]
    assert rejected and all(r.headers.get("x-local-rate-limit") == "true" for r in rejected)
    assert health == [200] * 20  # the probe route is never limited
