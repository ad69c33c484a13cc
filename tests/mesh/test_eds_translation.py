"""eds's translation of EndpointSlices into Envoy's ClusterLoadAssignment, and its REST-JSON answers (unit).

`recorded/endpointslices.json` is `kubectl get endpointslices -o json` from the local control plane: a headless
Service `qotm` (ports http 8080, metrics 9102) over three ready pods and one that crash-loops (not ready).
Terminating, IPv6 and other variants are made from it here, the way the API would show them."""

from __future__ import annotations

import copy
import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mesh import apps

pytestmark = pytest.mark.unit

RECORDED = json.loads((Path(__file__).parent / "recorded" / "endpointslices.json").read_text())["items"]
READY = ["10.244.0.2", "10.244.0.3", "10.244.0.4"]  # the crash-looping pod is 10.244.0.1


def hosts(assignment: dict[str, Any]) -> dict[str, str]:
    (group,) = assignment["endpoints"]
    return {f"{e['endpoint']['address']['socket_address']['address']}:"
            f"{e['endpoint']['address']['socket_address']['port_value']}": e["health_status"]
            for e in group["lb_endpoints"]}


def with_conditions(address: str, **conditions: bool) -> list[dict[str, Any]]:
    slices = copy.deepcopy(RECORDED)
    for endpoint in slices[0]["endpoints"]:
        if endpoint["addresses"] == [address]:
            endpoint["conditions"] = conditions
    return slices


def test_ready_endpoints_are_healthy_and_a_not_ready_one_is_left_out() -> None:
    endpoints = apps.eds_module("eds_translate")
    assignment = endpoints.load_assignment("qotm", RECORDED)
    assert assignment["@type"] == "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
    assert assignment["cluster_name"] == "qotm"
    assert hosts(assignment) == {f"{ip}:8080": "HEALTHY" for ip in READY}


def test_named_port_and_unknown_service() -> None:
    endpoints = apps.eds_module("eds_translate")
    assert hosts(endpoints.load_assignment("qotm:metrics", RECORDED)) == {f"{ip}:9102": "HEALTHY" for ip in READY}
    assert hosts(endpoints.load_assignment("qotm:grpc", RECORDED)) == {}
    assert hosts(endpoints.load_assignment("auth", RECORDED)) == {}


def test_a_terminating_endpoint_drains_while_serving_and_goes_when_it_stops() -> None:
    endpoints = apps.eds_module("eds_translate")
    draining = with_conditions("10.244.0.2", ready=False, serving=True, terminating=True)
    assert hosts(endpoints.load_assignment("qotm", draining))["10.244.0.2:8080"] == "DRAINING"
    gone = with_conditions("10.244.0.2", ready=False, serving=False, terminating=True)
    assert "10.244.0.2:8080" not in hosts(endpoints.load_assignment("qotm", gone))


def test_conditions_left_unset_mean_ready_as_the_api_says() -> None:
    endpoints = apps.eds_module("eds_translate")
    assert hosts(endpoints.load_assignment("qotm", with_conditions("10.244.0.1")))["10.244.0.1:8080"] == "HEALTHY"


def test_only_ipv4_slices_count_and_a_pod_in_two_slices_counts_once() -> None:
    endpoints = apps.eds_module("eds_translate")
    ipv6 = copy.deepcopy(RECORDED[0])
    ipv6["metadata"]["name"], ipv6["addressType"] = "qotm-v6", "IPv6"
    ipv6["endpoints"] = [{"addresses": ["fd00::5"], "conditions": {"ready": True}}]
    twin = copy.deepcopy(RECORDED[0])
    twin["metadata"]["name"] = "qotm-twin"
    assert hosts(endpoints.load_assignment("qotm", [*RECORDED, ipv6, twin])) == {f"{ip}:8080": "HEALTHY"
                                                                                  for ip in READY}


def test_a_single_unnamed_port_is_used() -> None:
    endpoints = apps.eds_module("eds_translate")
    unnamed = copy.deepcopy(RECORDED)
    unnamed[0]["ports"] = [{"port": 5000, "protocol": "TCP"}]
    assert set(hosts(endpoints.load_assignment("qotm", unnamed))) == {f"{ip}:5000" for ip in READY}


# --- the HTTP side: a real server on 127.0.0.1, fed from a cache instead of a watch ----------------------------


@pytest.fixture
def served() -> Iterator[tuple[Any, int]]:
    eds, watch = apps.eds_module("eds"), apps.eds_module("eds_watch")
    cache = watch.SliceCache()
    server = eds.serve(cache, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield cache, server.server_address[1]
    server.shutdown()
    server.server_close()


def post(port: int, body: bytes, path: str = "/v3/discovery:endpoints") -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("POST", path, body=body, headers={"content-type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def test_discovery_response_and_its_version(served) -> None:
    cache, port = served
    status, _ = post(port, b'{"resource_names": ["qotm"]}')
    assert status == 503  # nothing listed yet: Envoy keeps what it has
    cache.replace(copy.deepcopy(RECORDED))
    status, body = post(port, b'{"resource_names": ["qotm"], "node": {"id": "t"}}')
    assert status == 200 and body["type_url"].endswith("ClusterLoadAssignment")
    assert hosts(body["resources"][0]) == {f"{ip}:8080": "HEALTHY" for ip in READY}
    assert post(port, b'{"resource_names": ["qotm"]}')[1]["version_info"] == body["version_info"]  # unchanged
    cache.apply("DELETED", RECORDED[0])
    changed = post(port, b'{"resource_names": ["qotm"]}')[1]
    assert changed["version_info"] != body["version_info"] and hosts(changed["resources"][0]) == {}


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"{not json", 400, "not valid JSON"),
    (b"[]", 400, "must be a JSON object"),
    (b"{}", 400, "resource_names must be a non-empty list"),
    (b'{"resource_names": "qotm"}', 400, "resource_names must be a non-empty list"),
    (b'{"resource_names": [1]}', 400, "resource_names must be a non-empty list"),
    (b'{"resource_names": ["qotm"], "type_url": "type.googleapis.com/envoy.config.cluster.v3.Cluster"}', 400,
     "only type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"),
])
def test_bad_discovery_requests_are_clear_4xx(served, body: bytes, status: int, message: str) -> None:
    cache, port = served
    cache.replace(copy.deepcopy(RECORDED))
    got, answer = post(port, body)
    assert got == status and message in answer["error"]


def test_a_body_over_the_limit_is_413_before_it_is_read(served) -> None:
    """Judged on Content-Length alone, so the client sends only the headers: a client still writing a 1 MiB body
    when the 413 and the close arrive gets a broken pipe instead (it did, once, in a full CI run)."""
    conn = http.client.HTTPConnection("127.0.0.1", served[1], timeout=5)
    conn.putrequest("POST", "/v3/discovery:endpoints")
    conn.putheader("content-type", "application/json")
    conn.putheader("content-length", str(1024 * 1024 + 1))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413 and "at most 1048576 bytes" in json.loads(response.read())["error"]


def test_health_follows_the_first_list_and_unknown_paths_are_404(served) -> None:
    cache, port = served
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/health")
    assert conn.getresponse().status == 503
    cache.replace([])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/health")
    assert conn.getresponse().status == 200
    assert post(port, b"{}", path="/v2/discovery:endpoints")[0] == 404
