"""The mesh lab's data plane on loopback (dataplane tier), every process real and configured as forge renders it:
edge Envoy (+ auth) -> usersvc's sidecar (ingress) -> usersvc (gunicorn) -> PostgreSQL, and usersvc -> its sidecar
(egress, retries) -> QOTM x2; then eds feeding the sidecar's QOTM cluster."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.mesh import apps
from tests.mesh.mesh_stack import SIDECAR_PORTS, cluster_hosts, eds_http, mesh_running, sidecar_server
from tests.platform.procs import free_port
from tests.services.stack import Load, Stack, failures, versions

pytestmark = pytest.mark.dataplane

TOKEN = "tok-mesh-5b1d"
ALICE = {"username": "alice", "fullname": "Alice Liddell", "email": "alice@example.com"}


@pytest.fixture(scope="module")
def mesh(tmp_path_factory) -> Iterator[tuple[Stack, dict[str, int]]]:
    with mesh_running(tmp_path_factory.mktemp("mesh"), TOKEN) as running:
        yield running


def edge(stack: Stack, method: str, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("headers", stack.auth_header)
    return requests.request(method, f"{stack.edge}/users/{path}", timeout=10, **kwargs)


def test_users_through_the_edge_and_sidecars_with_quotes(mesh, report) -> None:
    stack, _ = mesh
    edge(stack, "DELETE", "alice")
    created = edge(stack, "POST", "", json=ALICE)
    assert created.status_code == 201, created.text
    assert created.json()["quote"] and created.json()["quote_error"] is None
    assert edge(stack, "POST", "", json={**ALICE, "username": "Bad Name"}).status_code == 400  # 4xx passes through
    assert edge(stack, "GET", "alice", headers={}).status_code == 401  # the edge's auth still guards /users/

    load = Load(f"{stack.edge}/users/alice", stack.auth_header, threads=8, count=2000, seconds=120,
                version=lambda body: "degraded" if body.get("quote_error") else "with quote")
    started = time.monotonic()
    answers = load.run()
    took = time.monotonic() - started
    assert len(answers) == 2000
    assert failures(answers) == []
    assert versions(answers) == {"with quote": 2000}
    report(f"edge -> sidecar -> usersvc -> PostgreSQL + sidecar -> QOTM: {len(answers)} GETs, 0 failed, "
           f"{len(answers) / took:.0f} req/s with 8 clients")


def test_qotm_down_gives_a_degraded_answer_through_the_edge(mesh) -> None:
    stack, _ = mesh
    edge(stack, "POST", "", json={**ALICE, "username": "carol"})
    for name in ("stable1", "stable2"):
        stack.servers[name].stop()
    try:
        answer = edge(stack, "GET", "carol")
        assert answer.status_code == 200, answer.text
        assert answer.json()["quote"] is None and answer.json()["quote_error"] == "qotm answered 503"
        assert answer.headers["x-usersvc-degraded"] == "qotm"
    finally:
        stack.ensure_stables()
    assert edge(stack, "GET", "carol").json()["quote"]


def test_sidecar_follows_eds_membership_within_5s(mesh, tmp_path: Path, report) -> None:
    """A second sidecar, its QOTM cluster fed by eds (the real HTTP side, slices set by the test): an endpoint
    added or removed shows in Envoy's admin /clusters within 5 s (refresh 1 s), and requests reach QOTM."""
    stack, _ = mesh
    watch = apps.eds_module("eds_watch")
    cache = watch.SliceCache()
    qotm_ports = [stack.ports["stable1"], stack.ports["stable2"]]

    def slices(ports: list[int]) -> list[dict[str, Any]]:
        return [{"metadata": {"name": f"qotm-{port}", "labels": {"kubernetes.io/service-name": "qotm"}},
                 "addressType": "IPv4", "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
                 "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}]} for port in ports]

    cache.replace(slices(qotm_ports[:1]))
    with eds_http(cache) as eds_port:
        ports = {name: free_port() for name in (*SIDECAR_PORTS, "app")}
        sidecar = sidecar_server(tmp_path, ports, {
            "discovery": "eds", "eds": f"{{host: 127.0.0.1, port: {eds_port}, refresh: 1s}}"})
        sidecar.start()
        try:
            def members() -> set[str]:
                return cluster_hosts(ports["admin"], "egress-qotm")

            took = []
            for wanted in (qotm_ports[:1], qotm_ports, qotm_ports[1:]):
                cache.replace(copy.deepcopy(slices(wanted)))
                started = time.monotonic()
                while members() != {f"127.0.0.1:{p}" for p in wanted}:
                    assert time.monotonic() - started < 5, f"Envoy has {members()}, eds says {wanted}"
                    time.sleep(0.05)
                took.append(time.monotonic() - started)
            quote = requests.get(f"http://127.0.0.1:{ports['egress']}/", timeout=5)
            assert quote.status_code == 200 and quote.json()["quote"]
            report("sidecar membership after an EDS change: " + ", ".join(f"{t:.2f} s" for t in took))
        finally:
            sidecar.stop()
