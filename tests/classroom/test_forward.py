"""The joined shell's forwarder through fakes: which pods get a tunnel and when (a Service deployed later, a pod that
goes, a kubectl that ended, the cluster unreadable), and its proxy on real loopback sockets (a connection goes to a
ready pod's tunnel, waits while there is none, gets a 503 that says why). Its real twin runs kubectl against the
class cluster (tests/class_cluster/test_class_join.py)."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from classroom.joined.forward import (
    ClusterTargets,
    Endpoint,
    Forward,
    KubectlLauncher,
    Listener,
    Route,
    Supervisor,
    Tunnel,
    free_port,
    serve_connection,
)
from forge.errors import ForgeError

pytestmark = pytest.mark.unit

EDGE = Forward("edge", "room-ana", "service", "envoy", 8080, 30080)
REGISTRY = Forward("registry", "room", "pod", "registry-ana-0", 5000, 31000)
ENVOY_A, ENVOY_B = Endpoint("envoy-a", 8080), Endpoint("envoy-b", 8080)


@dataclass
class FakeProcess:
    endpoint: Endpoint
    port: int
    running: bool = True
    why: str = "exit status 1"

    def alive(self) -> bool:
        return self.running

    def stop(self) -> None:
        self.running = False

    def reason(self) -> str:
        return self.why


@dataclass
class FakeLauncher:
    processes: list[FakeProcess] = field(default_factory=list)

    def start(self, forward: Forward, endpoint: Endpoint, port: int) -> FakeProcess:
        self.processes.append(FakeProcess(endpoint, port))
        return self.processes[-1]

    def running(self) -> list[str]:
        return [p.endpoint.pod for p in self.processes if p.running]


@dataclass
class FakeTargets:
    ready_pods: dict[str, list[Endpoint] | None] = field(default_factory=dict)
    failing: bool = False

    def ready(self, forward: Forward) -> list[Endpoint] | None:
        if self.failing:
            raise ForgeError("cluster unreachable: Connection refused")
        found = self.ready_pods.get(forward.name)
        return None if found is None else list(found)


def supervisor(targets: FakeTargets, launcher: FakeLauncher, log: list[str]) -> Supervisor:
    ports = iter(range(40000, 41000))
    return Supervisor([EDGE, REGISTRY], targets, launcher, log.append, free_port=lambda: next(ports))


def test_a_service_not_deployed_yet_is_said_once_and_gets_a_tunnel_per_ready_pod_when_deployed() -> None:
    targets = FakeTargets({"registry": [Endpoint("registry-ana-0", 5000)]})
    launcher, log = FakeLauncher(), []
    sup = supervisor(targets, launcher, log)
    sup.tick()
    sup.tick()
    assert launcher.running() == ["registry-ana-0"]
    assert [line for line in log if line.startswith("edge:")] == [
        "edge: service room-ana/envoy does not exist (not deployed yet?)"]
    assert sup.routes["edge"].missing == "service room-ana/envoy does not exist (not deployed yet?)"
    targets.ready_pods["edge"] = []
    sup.tick()
    assert sup.routes["edge"].missing == "no ready pod of service room-ana/envoy yet"
    targets.ready_pods["edge"] = [ENVOY_A, ENVOY_B]
    sup.tick()
    assert launcher.running() == ["registry-ana-0", "envoy-a", "envoy-b"]
    assert set(sup.routes["edge"].tunnels) == {ENVOY_A, ENVOY_B}
    assert "edge: localhost:30080 -> pod room-ana/envoy-a:8080" in log


def test_a_pod_no_longer_ready_loses_its_tunnel_and_a_new_one_gets_one() -> None:
    targets, launcher, log = FakeTargets({"edge": [ENVOY_A]}), FakeLauncher(), []
    sup = supervisor(targets, launcher, log)
    sup.tick()
    targets.ready_pods["edge"] = [ENVOY_B]  # a rollout replaced the pod
    sup.tick()
    assert launcher.running() == ["envoy-b"]
    assert list(sup.routes["edge"].tunnels) == [ENVOY_B]
    assert "edge: pod envoy-a is no longer ready: its port-forward stops" in log


def test_a_tunnel_whose_kubectl_ended_is_started_again_with_the_reason_logged() -> None:
    targets, launcher, log = FakeTargets({"edge": [ENVOY_A]}), FakeLauncher(), []
    sup = supervisor(targets, launcher, log)
    sup.tick()
    launcher.processes[0].running = False
    launcher.processes[0].why = "error: lost connection to pod"
    sup.tick()
    assert len(launcher.processes) == 2 and launcher.running() == ["envoy-a"]
    assert launcher.processes[1].port != launcher.processes[0].port
    assert "edge: the port-forward to pod envoy-a ended (error: lost connection to pod)" in log


def test_when_the_cluster_cannot_be_read_the_tunnels_stay_and_none_starts() -> None:
    targets, launcher, log = FakeTargets({"edge": [ENVOY_A]}), FakeLauncher(), []
    sup = supervisor(targets, launcher, log)
    sup.tick()
    targets.failing = True
    sup.tick()
    sup.tick()
    assert launcher.running() == ["envoy-a"] and len(launcher.processes) == 1
    assert log.count("edge: cannot read service envoy: cluster unreachable: Connection refused") == 1


def test_stop_ends_every_tunnel() -> None:
    targets = FakeTargets({"edge": [ENVOY_A], "registry": [Endpoint("registry-ana-0", 5000)]})
    launcher = FakeLauncher()
    sup = supervisor(targets, launcher, [])
    sup.tick()
    sup.stop()
    assert launcher.running() == []


# -- the proxy, on loopback sockets ------------------------------------------------------------------------


@pytest.fixture
def upstreams() -> Iterator[dict[str, int]]:
    """Two servers standing in for two pods' tunnels: each answers every connection with its name."""
    servers, found = [], {}
    for name in ("envoy-a", "envoy-b"):
        server = socket.create_server(("127.0.0.1", 0))
        servers.append(server)
        found[name] = server.getsockname()[1]

        def answer(server: socket.socket = server, name: str = name) -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn:
                    conn.recv(100)
                    conn.sendall(name.encode())

        threading.Thread(target=answer, daemon=True).start()
    yield found
    for server in servers:
        server.close()


def ask(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while data := conn.recv(4096):
            chunks.append(data)
    return b"".join(chunks).decode()


def tunnel(endpoint: Endpoint, port: int) -> Tunnel:
    return Tunnel(endpoint, port, FakeProcess(endpoint, port))


def listening(route: Route, wait: float = 5.0) -> Listener:
    return Listener(route, address="127.0.0.1", wait=wait, connect=0.5).open()


def test_connections_go_to_the_ready_pods_tunnels_in_turn(upstreams: dict[str, int]) -> None:
    route = Route(Forward("edge", "room-ana", "service", "envoy", 8080, free_port()))
    route.set({ENVOY_A: tunnel(ENVOY_A, upstreams["envoy-a"]), ENVOY_B: tunnel(ENVOY_B, upstreams["envoy-b"])}, "")
    listener = listening(route)
    try:
        answers = [ask(route.forward.listen) for _ in range(4)]
    finally:
        listener.close()
    assert sorted(answers) == ["envoy-a", "envoy-a", "envoy-b", "envoy-b"]


def test_a_connection_waits_for_a_ready_pod_then_goes_to_it(upstreams: dict[str, int]) -> None:
    route = Route(Forward("edge", "room-ana", "service", "envoy", 8080, free_port()))
    listener = listening(route)
    later = threading.Timer(0.5, lambda: route.set({ENVOY_B: tunnel(ENVOY_B, upstreams["envoy-b"])}, ""))
    started = time.monotonic()
    later.start()
    try:
        assert ask(route.forward.listen) == "envoy-b"
    finally:
        listener.close()
    assert time.monotonic() - started >= 0.5


def test_a_tunnel_that_does_not_listen_is_passed_over_for_another(upstreams: dict[str, int]) -> None:
    route = Route(Forward("edge", "room-ana", "service", "envoy", 8080, free_port()))
    route.set({ENVOY_A: tunnel(ENVOY_A, free_port()), ENVOY_B: tunnel(ENVOY_B, upstreams["envoy-b"])}, "")
    listener = listening(route, wait=8.0)
    try:
        assert {ask(route.forward.listen) for _ in range(2)} == {"envoy-b"}
    finally:
        listener.close()


def test_without_a_ready_pod_a_connection_gets_a_503_that_says_why_after_the_wait() -> None:
    route = Route(Forward("prometheus", "room-ana", "service", "prometheus", 9090, free_port()))
    route.set({}, "service room-ana/prometheus does not exist (not deployed yet?)")
    client, server = socket.socketpair()
    started = time.monotonic()
    serve_connection(server, route, wait=0.3)
    answer = client.recv(4096).decode()
    client.close()
    assert time.monotonic() - started >= 0.3
    assert answer.startswith("HTTP/1.1 503 Service Unavailable\r\n")
    assert answer.endswith("\r\n\r\nshopbox: prometheus: service room-ana/prometheus does not exist (not deployed "
                           "yet?)\n")


def test_a_port_already_taken_is_one_error_line() -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    try:
        route = Route(Forward("edge", "room-ana", "service", "envoy", 8080, taken.getsockname()[1]))
        with pytest.raises(ForgeError, match=r"^edge: cannot listen on port \d+: Address already in use$"):
            Listener(route, address="127.0.0.1").open()
    finally:
        taken.close()


# -- ClusterTargets: EndpointSlices to pods ------------------------------------------------------------------


@dataclass
class FakeCluster:
    objects: dict[str, dict[str, Any]]
    slices: list[dict[str, Any]] = field(default_factory=list)
    selectors: list[str | None] = field(default_factory=list)
    gets: list[str] = field(default_factory=list)

    def get(self, path: str) -> dict[str, Any] | None:
        self.gets.append(path)
        return self.objects.get(path)

    def list(self, path: str, selector: str | None = None) -> list[dict[str, Any]]:
        self.selectors.append(selector)
        return self.slices


def endpoint(pod: str, ready: bool | None) -> dict[str, Any]:
    found: dict[str, Any] = {"addresses": ["10.0.0.1"], "targetRef": {"kind": "Pod", "name": pod}}
    if ready is not None:
        found["conditions"] = {"ready": ready}
    return found


def test_a_service_port_is_followed_to_its_ready_pods_and_their_port_number() -> None:
    service = {"spec": {"ports": [{"name": "admin", "port": 9901}, {"name": "http", "port": 8080,
                                                                      "targetPort": "http"}]}}
    cluster = FakeCluster({"/api/v1/namespaces/room-ana/services/envoy": service}, slices=[
        {"ports": [{"name": "admin", "port": 9901}, {"name": "http", "port": 8081}],
         "endpoints": [endpoint("envoy-c", True), endpoint("envoy-a", False), endpoint("envoy-b", None)]}])
    assert ClusterTargets(cluster).ready(EDGE) == [Endpoint("envoy-b", 8081), Endpoint("envoy-c", 8081)]
    assert cluster.selectors == ["kubernetes.io/service-name=envoy"]


def test_a_missing_service_is_none_a_missing_port_none_ready_and_a_pod_forward_needs_its_pod_ready() -> None:
    assert ClusterTargets(FakeCluster({})).ready(EDGE) is None
    other = {"/api/v1/namespaces/room-ana/services/envoy": {"spec": {"ports": [{"port": 80}]}}}
    assert ClusterTargets(FakeCluster(other)).ready(EDGE) == []
    assert ClusterTargets(FakeCluster({})).ready(REGISTRY) is None
    path = "/api/v1/namespaces/room/pods/registry-ana-0"
    pending = {path: {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}}
    assert ClusterTargets(FakeCluster(pending)).ready(REGISTRY) == []
    ready = {path: {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}}
    assert ClusterTargets(FakeCluster(ready)).ready(REGISTRY) == [Endpoint("registry-ana-0", 5000)]


def test_every_second_a_healthy_service_forward_costs_one_list_and_a_pod_forward_a_get_every_five_seconds() -> None:
    """Every seat's forwarder asks the API server every second: what it asks must stay small for a class of 30."""
    now = [0.0]
    path = "/api/v1/namespaces/room/pods/registry-ana-0"
    cluster = FakeCluster({path: {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
                           "/api/v1/namespaces/room-ana/services/envoy": {"spec": {"ports": [{"port": 8080}]}}},
                          slices=[{"ports": [{"name": "http", "port": 8081}],
                                   "endpoints": [endpoint("envoy-b", True)]}])
    targets = ClusterTargets(cluster, clock=lambda: now[0])
    for second in range(10):
        now[0] = float(second)
        assert targets.ready(EDGE) == [Endpoint("envoy-b", 8081)]
        assert targets.ready(REGISTRY) == [Endpoint("registry-ana-0", 5000)]
    assert len(cluster.selectors) == 10  # the EndpointSlices, once a second
    assert cluster.gets == [path, path]  # the Service never (one port: its own), the pod at 0 s and 5 s
    cluster.slices = [{"ports": None, "endpoints": []}]  # a rollout: no ready pod for a moment
    assert targets.ready(EDGE) == [] and cluster.gets[-1] == "/api/v1/namespaces/room-ana/services/envoy"


def test_the_kubectl_launcher_runs_port_forward_with_the_seat_kubeconfig_and_keeps_its_last_error(
        tmp_path: Path) -> None:
    # A stand-in kubectl that records its arguments and fails as kubectl does when its pod goes away.
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f"#!{sys.executable}\nimport sys\nprint(' '.join(sys.argv[1:]), file=open(sys.argv[0] + "
                       "'.args', 'w'))\nprint('Forwarding from 127.0.0.1:40001 -> 8081')\n"
                       "print('error: lost connection to pod', file=sys.stderr)\nsys.exit(1)\n")
    kubectl.chmod(0o755)
    process = KubectlLauncher(tmp_path / "config", kubectl=str(kubectl)).start(EDGE, Endpoint("envoy-b", 8081), 40001)
    process.popen.wait(30)  # type: ignore[attr-defined]
    assert not process.alive()
    assert process.reason() == "error: lost connection to pod"
    assert (tmp_path / "kubectl.args").read_text().split() == [
        "--kubeconfig", str(tmp_path / "config"), "--namespace", "room-ana", "port-forward", "--address", "127.0.0.1",
        "pod/envoy-b", "40001:8081"]
