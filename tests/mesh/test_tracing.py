"""Distributed tracing on loopback (dataplane tier): the edge's and usersvc's sidecar's Envoy Zipkin tracers (as
rendered, tracing.enabled) send spans to a real Jaeger all-in-one (built from its Go module by build_jaeger.sh,
configured as forge renders jaeger/). One request through the edge is one trace with spans from the edge, its auth
call, usersvc's sidecar ingress and its egress call to QOTM (the B3 headers passed on by usersvc join them); and
Jaeger's query by duration finds the slow canary's requests."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.mesh.apps import JAEGER_DIR
from tests.mesh.mesh_stack import mesh_running
from tests.platform.fixtures import require
from tests.platform.procs import free_port, running
from tests.services.rendered import config_file, render
from tests.services.stack import responds, start_stack

pytestmark = pytest.mark.dataplane

BUILD = Path(__file__).parent / "build_jaeger.sh"
TOKEN = "tok-trace-93aa"


def jaeger_binary() -> str:
    path = subprocess.run(["bash", str(BUILD), "--path"], capture_output=True, text=True, check=True).stdout.strip()
    require(Path(path).is_file(), f"{path} is missing: run tests/mesh/build_jaeger.sh (make setup does)")
    return path


@contextmanager
def jaeger(work: Path) -> Iterator[tuple[int, str]]:
    """Jaeger with its config as forge renders it (jaeger/), on free loopback ports; yields its Zipkin port and its
    query API's base URL."""
    ports = {name: free_port() for name in ("zipkin", "query", "query_grpc", "health")}
    objects = render(JAEGER_DIR, work / "jaeger-rendered", {
        "address": "127.0.0.1", "ports": "{" + ", ".join(f"{k}: {v}" for k, v in ports.items()) + "}"})
    config = work / "jaeger.yaml"
    config.write_text(config_file(objects, "jaeger", "config.yaml"))
    query = f"http://127.0.0.1:{ports['query']}"
    with running([jaeger_binary(), "--config", str(config)], work / "jaeger.log",
                 lambda: responds(f"http://127.0.0.1:{ports['health']}/status"), "jaeger", timeout=60):
        yield ports["zipkin"], query


def traces(query: str, service: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{query}/api/traces", params={"service": service, "limit": 50}, timeout=5)
    found: list[dict[str, Any]] = answer.json().get("data") or [] if answer.status_code == 200 else []
    return found


def test_one_request_through_the_mesh_is_one_trace_in_jaeger(tmp_path: Path, report) -> None:
    with jaeger(tmp_path) as (zipkin, query):
        collector = f"[127.0.0.1:{zipkin}]"
        (tmp_path / "mesh").mkdir()
        with mesh_running(tmp_path / "mesh", TOKEN, edge={"tracing.enabled": "true", "upstreams.zipkin": collector},
                          sidecar={"tracing.enabled": "true", "tracing.zipkin": collector}) as (stack, _):
            name = f"u-{uuid.uuid4().hex[:8]}"
            created = requests.post(f"{stack.edge}/users/", json={"username": name, "fullname": "Erin",
                                                                  "email": "erin@example.com"},
                                    headers=stack.auth_header, timeout=10)
            assert created.status_code == 201 and created.json()["quote"], created.text
            path = f"/users/{name}"
            answer = requests.get(f"{stack.edge}{path}", headers=stack.auth_header, timeout=10)
            assert answer.status_code == 200 and answer.json()["quote"], answer.text

            def ours() -> dict[str, Any] | None:
                """The trace of the GET: the one whose edge span has the request's URL."""
                for trace in traces(query, "envoy"):
                    tags = [t for span in trace["spans"] for t in span.get("tags", [])]
                    if any(t["key"] == "http.url" and t["value"].endswith(path) for t in tags):
                        return trace
                return None

            started, trace = time.monotonic(), None
            while (trace := ours()) is None or len(trace["spans"]) < 4:
                assert time.monotonic() - started < 30, f"no trace of GET {path} with 4 spans in Jaeger"
                time.sleep(0.5)
            services = {trace["processes"][span["processID"]]["serviceName"] for span in trace["spans"]}
            names = sorted(span["operationName"] for span in trace["spans"])
            report(f"trace {trace['traceID']}: {len(trace['spans'])} spans from {sorted(services)}: {names}; "
                   f"in Jaeger {time.monotonic() - started:.1f} s after the answer")
            assert services == {"envoy", "usersvc"}, services
            # the edge's ext_authz call, usersvc's sidecar taking the request in, and its quote call out to QOTM
            assert {"async auth egress", "usersvc ingress", "egress to qotm"} <= set(names), names


def test_a_query_by_duration_finds_the_slow_canarys_spans(tmp_path: Path, report) -> None:
    """What the tracing step of the mesh page runs: traces of the edge slower than 400 ms are the canary's (QOTM
    with a 0.5 s delay), none of the fast stable's."""
    with jaeger(tmp_path) as (zipkin, query):
        (tmp_path / "stack").mkdir()
        stacks = start_stack(tmp_path / "stack", TOKEN, envoy_overrides={
            "tracing.enabled": "true", "upstreams.zipkin": f"[127.0.0.1:{zipkin}]"})
        stack = next(stacks)
        try:
            stack.start_canary()
            for pinned in ({"x-canary": "always"}, {}) * 5:
                answer = requests.get(f"{stack.edge}/qotm/", headers={**stack.auth_header, **pinned}, timeout=10)
                assert answer.status_code == 200

            def slow() -> list[dict[str, Any]]:
                answer = requests.get(f"{query}/api/traces", timeout=5, params={
                    "service": "envoy", "operation": "", "minDuration": "400ms", "limit": 50})
                return answer.json().get("data") or []

            started = time.monotonic()
            while len(found := slow()) < 5:
                assert time.monotonic() - started < 30, f"{len(found)} slow traces in Jaeger, expected 5"
                time.sleep(0.5)
            for trace in found:  # each: the edge's span to the canary (and its call to auth), never stable
                clusters = {t["value"] for span in trace["spans"] for t in span.get("tags", [])
                            if t["key"] == "upstream_cluster"}
                assert "qotm-canary" in clusters and "qotm" not in clusters, clusters
            report(f"Jaeger minDuration=400ms: {len(found)} traces, all of upstream_cluster qotm-canary")
        finally:
            stacks.close()
