"""The cost of the edge: QOTM direct, through Envoy alone, and through Envoy + the auth check, side by side.

The data plane of the `dataplane` tier (tests/services/stack.py: auth in token mode, two stable QOTMs under
gunicorn, Envoy as rendered, Prometheus scraping it), plus a second Envoy rendered the same way without its ext_authz
filter. Each round measures every path in turn (interleaved: a load spike hits them alike): the p50 latency of
one client sending requests one after another on a kept-alive connection, then the requests/s of 16 such clients.
"Direct" spreads its requests over both stable processes, like Envoy does. Printed: medians over the rounds, the
overhead over direct, the throughput ratio to direct, and the CPU time Envoy and auth spend per request.

Targets (issue 14): Envoy + auth p50 overhead <= 1 ms over direct and >= 0.7x direct throughput; Envoy alone
<= 0.5 ms.

Run: .venv/bin/python -m tests.bench.edge_bench   (prints numbers; asserts nothing)
"""

from __future__ import annotations

import dataclasses
import http.client
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from tests.platform.procs import free_port
from tests.services.stack import Server, Stack, envoy_server, start_stack

ROUNDS = 5
SEQUENTIAL = 300  # requests of the one client, per round and path
CLIENTS = 16
SECONDS = 3.0  # of the 16 clients, per round and path
TARGETS = {"overhead_ms": {"Envoy only": 0.5, "Envoy + auth": 1.0}, "throughput": {"Envoy + auth": 0.7}}


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    ports: tuple[int, ...]  # requests go round-robin over these
    prefix: str  # "/qotm" through the edge, "" direct
    headers: dict[str, str]


def _get(conn: http.client.HTTPConnection, path: Target) -> None:
    conn.request("GET", f"{path.prefix}/", headers=path.headers)
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"{path.name}: GET {path.prefix}/ answered {response.status}")


def _connections(path: Target) -> list[http.client.HTTPConnection]:
    return [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for port in path.ports]


def p50_ms(path: Target) -> float:
    """Median latency of one client, kept-alive connections, one request at a time."""
    conns = _connections(path)
    took = []
    for i in range(SEQUENTIAL):
        started = time.perf_counter()
        _get(conns[i % len(conns)], path)
        took.append(time.perf_counter() - started)
    for conn in conns:
        conn.close()
    return statistics.median(took) * 1000


def throughput(path: Target) -> float:
    """Requests/s of CLIENTS clients for SECONDS, each on its own kept-alive connections."""
    done = [0] * CLIENTS
    deadline = time.perf_counter() + SECONDS

    def client(number: int) -> None:
        conns = _connections(path)
        while time.perf_counter() < deadline:
            _get(conns[(done[number] + number) % len(conns)], path)
            done[number] += 1
        for conn in conns:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def cpu_seconds(server: Server) -> float:
    """User + system CPU of a server's whole process group (gunicorn's master and workers), from /proc."""
    assert server.process is not None
    group = os.getpgid(server.process.popen.pid)
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def without_ext_authz(config: Path) -> None:
    """Drop the ext_authz filter from a rendered Envoy config: the same edge, minus the auth check."""
    bootstrap = yaml.safe_load(config.read_text())
    for listener in bootstrap["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for network_filter in chain["filters"]:
                manager = network_filter["typed_config"]
                if "http_filters" in manager:
                    manager["http_filters"] = [f for f in manager["http_filters"]
                                               if f["name"] != "envoy.filters.http.ext_authz"]
                    for host in manager["route_config"]["virtual_hosts"]:
                        for route in host["routes"]:
                            route.pop("typed_per_filter_config", None)
    config.write_text(yaml.safe_dump(bootstrap))


@contextmanager
def plain_envoy(stack: Stack) -> Iterator[tuple[Server, int]]:
    """A second Envoy, rendered like the stack's, without ext_authz; yields it and its edge port."""
    work = stack.work / "plain"
    work.mkdir()
    ports = {**stack.ports, "edge": free_port(), "stats": free_port(), "admin": free_port()}
    twin = dataclasses.replace(stack, work=work, ports=ports, servers={})
    server = envoy_server(twin, {})
    without_ext_authz(work / "envoy.yaml")
    server.start()
    try:
        yield server, ports["edge"]
    finally:
        server.stop()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="shopbox-edge-bench-") as tmp:
        stack_run = start_stack(Path(tmp), token="bench-token-0123456789")
        stack = next(stack_run)
        try:
            with plain_envoy(stack) as (plain, plain_port):
                measure(stack, plain, plain_port)
        finally:
            stack_run.close()


def measure(stack: Stack, plain: Server, plain_port: int) -> None:
    paths = [
        Target("direct", (stack.ports["stable1"], stack.ports["stable2"]), "", {}),
        Target("Envoy only", (plain_port,), "/qotm", {}),
        Target("Envoy + auth", (stack.ports["edge"],), "/qotm", stack.auth_header),
    ]
    for path in paths:  # warm-up: connections, health checks settled, first-request costs
        p50_ms(path)
    p50s: dict[str, list[float]] = {p.name: [] for p in paths}
    rates: dict[str, list[float]] = {p.name: [] for p in paths}
    # CPU ms per request of the 1-client run, per process that serves the path (besides QOTM)
    watched = {"Envoy only": {"Envoy": plain}, "Envoy + auth": {"Envoy": stack.servers["envoy"],
                                                                 "auth": stack.servers["auth"]}}
    cpu: dict[str, list[float]] = {f"{path} {name}": [] for path, servers in watched.items() for name in servers}
    for _ in range(ROUNDS):
        for path in paths:
            servers = watched.get(path.name, {})
            before = {name: cpu_seconds(server) for name, server in servers.items()}
            p50s[path.name].append(p50_ms(path))
            for name, server in servers.items():
                cpu[f"{path.name} {name}"].append((cpu_seconds(server) - before[name]) / SEQUENTIAL * 1000)
            rates[path.name].append(throughput(path))
    direct_p50, direct_rate = statistics.median(p50s["direct"]), statistics.median(rates["direct"])
    print(f"edge cost, QOTM GET /, medians of {ROUNDS} interleaved rounds (load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs):")
    for path in paths:
        p50, rate = statistics.median(p50s[path.name]), statistics.median(rates[path.name])
        overhead, ratio = p50 - direct_p50, rate / direct_rate
        line = f"  {path.name:<13} 1 client p50 {p50:5.2f} ms"
        if path.name != "direct":
            goal = TARGETS["overhead_ms"].get(path.name)
            line += f" (+{overhead:4.2f} ms{_verdict(overhead <= goal, f'<= {goal} ms') if goal else ''})"
        line += f"   {CLIENTS} clients {rate:6.0f} req/s"
        if path.name != "direct":
            goal = TARGETS["throughput"].get(path.name)
            line += f" ({ratio:4.2f}x{_verdict(ratio >= goal, f'>= {goal}x') if goal else ''})"
        print(line)
    print("  CPU per request, 1 client: " + ", ".join(f"{name} {statistics.median(values):.2f} ms"
                                                     for name, values in cpu.items()))


def _verdict(met: bool, goal: str) -> str:
    return f", goal {goal}: {'met' if met else 'NOT met'}"


if __name__ == "__main__":
    main()
