"""Distributed tracing across the mesh on loopback (dataplane tier): the edge's and usersvc's sidecar's Envoy
Zipkin tracers (as rendered, tracing.enabled) send spans to a real Jaeger all-in-one (built from its Go module by
build_jaeger.sh), and one request through the edge is one trace with spans from the edge, usersvc's sidecar
ingress and its egress call to QOTM (the B3 headers passed on by usersvc join them)."""

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
import yaml

from tests.mesh.mesh_stack import mesh_running
from tests.platform.fixtures import require
from tests.platform.procs import free_port, running
from tests.services.stack import responds

pytestmark = pytest.mark.dataplane

BUILD = Path(__file__).parent / "build_jaeger.sh"
TOKEN = "tok-trace-93aa"


def jaeger_binary() -> str:
    path = subprocess.run(["bash", str(BUILD), "--path"], capture_output=True, text=True, check=True).stdout.strip()
    require(Path(path).is_file(), f"{path} is missing: run tests/mesh/build_jaeger.sh (make setup does)")
    return path


def jaeger_config(zipkin: int, http: int, grpc: int) -> dict[str, Any]:
    """All-in-one with in-memory storage: a Zipkin receiver and the query API, on loopback ports only."""
    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query"],
            "pipelines": {"traces": {"receivers": ["zipkin"], "processors": ["batch"],
                                     "exporters": ["jaeger_storage_exporter"]}},
            "telemetry": {"metrics": {"level": "none"}, "traces": {"level": "none"}, "logs": {"level": "warn"}},
        },
        "extensions": {
            "jaeger_storage": {"backends": {"memstore": {"memory": {"max_traces": 10000}}}},
            "jaeger_query": {"storage": {"traces": "memstore"}, "http": {"endpoint": f"127.0.0.1:{http}"},
                             "grpc": {"endpoint": f"127.0.0.1:{grpc}"}},
        },
        "receivers": {"zipkin": {"endpoint": f"127.0.0.1:{zipkin}"}},
        "processors": {"batch": {"timeout": "200ms"}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": "memstore"}},
    }


@contextmanager
def jaeger(work: Path) -> Iterator[tuple[int, str]]:
    """Jaeger running; yields its Zipkin port and its query API's base URL."""
    zipkin, http, grpc = free_port(), free_port(), free_port()
    config = work / "jaeger.yaml"
    config.write_text(yaml.safe_dump(jaeger_config(zipkin, http, grpc)))
    query = f"http://127.0.0.1:{http}"
    with running([jaeger_binary(), "--config", str(config)], work / "jaeger.log",
                 lambda: responds(f"{query}/api/services"), "jaeger", timeout=60):
        yield zipkin, query


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
