"""The mesh lab's processes on 127.0.0.1, configured by what forge renders: usersvc under gunicorn, its Envoy
sidecar (ingress, egress, stats, admin on loopback ports) and eds's HTTP side fed from a SliceCache."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.mesh import apps
from tests.mesh.postgres import Postgres, postgres_server
from tests.mesh.rendered import usersvc_objects
from tests.platform.procs import free_port
from tests.services.rendered import config_file
from tests.services.stack import Server, Stack, binary, responds, start_stack

SIDECAR_PORTS = ("ingress", "egress", "stats", "admin")


def sidecar_server(work: Path, ports: dict[str, int], overrides: dict[str, str]) -> Server:
    """usersvc's sidecar as rendered, its listeners on `ports` (ingress, egress, stats, admin, app), health checks
    every second; ready when its admin answers."""
    listeners = {f"sidecar.{name}": f"{{address: 127.0.0.1, port: {ports[name]}}}" for name in SIDECAR_PORTS}
    objects = usersvc_objects(work / "sidecar-rendered", {
        **listeners, "app": f"{{address: 127.0.0.1, port: {ports['app']}}}", "health_check.interval": "1s",
        **overrides})
    config = work / "sidecar.yaml"
    config.write_text(config_file(objects, "usersvc-sidecar", "envoy.yaml"))
    argv = [binary("envoy"), "--config-path", str(config), "--concurrency", "1", "--disable-hot-restart",
            "--log-level", "warning"]
    return Server("usersvc sidecar", argv, work / "sidecar.log",
                  ready=lambda: responds(f"http://127.0.0.1:{ports['admin']}/ready"))


def usersvc_server(work: Path, pg: Postgres, ports: dict[str, int]) -> Server:
    """usersvc as its image runs it (gunicorn, usersvc:from_environment()), on the app port, QOTM through the
    sidecar's egress listener; ready when /health answers (the database is migrated)."""
    env = {**pg.env, "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{ports['app']}", "LOG_LEVEL": "warning",
           "QOTM_URL": f"http://127.0.0.1:{ports['egress']}/", "QOTM_TIMEOUT": "2"}
    return Server("usersvc", [binary("gunicorn"), "usersvc:from_environment()"], work / "usersvc.log",
                  ready=lambda: responds(f"http://127.0.0.1:{ports['app']}/health"), env=env, cwd=apps.USERSVC_DIR)


def cluster_hosts(admin_port: int, cluster: str) -> set[str]:
    """The hosts ("ip:port") Envoy has in `cluster` (admin /clusters)."""
    text = requests.get(f"http://127.0.0.1:{admin_port}/clusters", timeout=5).text
    prefix = f"{cluster}::"
    return {line.split("::")[1] for line in text.splitlines()
            if line.startswith(prefix) and line.split("::")[2] == "cx_active"}


@contextmanager
def eds_http(cache: Any) -> Iterator[int]:
    """eds's HTTP server (the real handler) on a free port, answering from `cache`; yields the port."""
    server = apps.eds_module("eds").serve(cache, "127.0.0.1", free_port())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def mesh_running(work: Path, token: str, edge: dict[str, str] | None = None,
                 sidecar: dict[str, str] | None = None) -> Iterator[tuple[Stack, dict[str, int]]]:
    """The workshop's loopback stack (edge, auth, QOTM x2, Prometheus) plus PostgreSQL, usersvc and its sidecar
    (service.yaml values overridden by `edge` and `sidecar`); the edge's `usersvc` upstream is the sidecar's
    ingress port, the sidecar's `qotm` the two QOTMs. Yields the stack (usersvc healthy at the edge) and the
    sidecar's ports."""
    ports = {name: free_port() for name in (*SIDECAR_PORTS, "app")}
    stacks = start_stack(work, token, envoy_overrides={"upstreams.usersvc": f"[127.0.0.1:{ports['ingress']}]",
                                                        **(edge or {})})
    stack = next(stacks)
    try:
        with postgres_server() as pg:
            qotms = f"[127.0.0.1:{stack.ports['stable1']},127.0.0.1:{stack.ports['stable2']}]"
            stack.servers["sidecar"] = sidecar_server(work, ports, {"upstreams.qotm": qotms, **(sidecar or {})})
            stack.servers["usersvc"] = usersvc_server(work, pg, ports)
            stack.servers["sidecar"].start()
            stack.servers["usersvc"].start()
            stack.ports["usersvc-ingress"] = ports["ingress"]
            stack.wait_host("usersvc", "usersvc-ingress", healthy=True)
            yield stack, ports
    finally:
        stacks.close()
