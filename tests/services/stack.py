"""The workshop's data plane as real processes on 127.0.0.1, configured by what forge renders.

QOTM (stable x2, canary) runs under gunicorn and the auth service as `python auth.py`, each from its own
directory; Envoy and Prometheus run with the config files and command-line arguments of their rendered ConfigMaps
and Deployments, only the addresses, ports and paths swapped for loopback ones. `Load` drives bounded concurrent
traffic through the edge.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from werkzeug.security import generate_password_hash

from tests.platform.fixtures import require
from tests.platform.procs import Process, free_port, wait_for, wait_ready
from tests.services import apps
from tests.services.rendered import ENVOY_DIR, PROMETHEUS_DIR, config_file, find, render, write_config_files

VENV_BIN = Path(sys.executable).parent


def binary(name: str) -> str:
    """A command from the virtualenv (envoy, gunicorn) or PATH (prometheus, promtool); a missing one is a
    missing prerequisite."""
    found = shutil.which(name, path=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
    require(found is not None, f"`{name}` not found in {VENV_BIN} or on PATH (run tests/platform/install.sh)")
    assert found is not None
    return found


def responds(url: str, status: int = 200) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == status
    except requests.RequestException:
        return False


class Server:
    """One process that can be stopped, killed and started again with the same command line."""

    def __init__(self, what: str, argv: list[str], log: Path, ready: Callable[[], bool],
                 env: dict[str, str] | None = None, cwd: Path | None = None):
        self.what, self.argv, self.log, self.ready, self.env, self.cwd = what, argv, log, ready, env, cwd
        self.process: Process | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.alive()

    def start(self, timeout: float = 30) -> None:
        if self.running:
            return
        self.process = proc = Process(self.argv, self.log, env=self.env, cwd=self.cwd)
        try:
            wait_ready(proc, self.ready, self.what, timeout)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM (gunicorn finishes the requests in flight), SIGKILL after 10 s."""
        if self.process is not None:
            self.process.stop()
            self.process = None

    def kill(self) -> None:
        """SIGKILL the whole process group: requests in flight are cut off."""
        if self.process is not None:
            self.process.signal(signal.SIGKILL)
            self.process.stop()
            self.process = None


@dataclass
class Answer:
    status: int  # 0: no HTTP answer (connection error, timeout)
    version: str | None
    user: str | None
    started: float  # time.monotonic()
    elapsed: float = 0.0  # seconds until the answer (or the error)

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class Load:
    """GET `url` from `threads` threads (a requests.Session each) until `count` answers or `seconds` elapsed,
    or `stop()`."""

    url: str
    headers: dict[str, str]
    threads: int = 16
    count: int = 1000
    seconds: float = 60
    answers: list[Answer] = field(default_factory=list)
    version: Callable[[dict[str, Any]], str | None] = lambda body: body.get("version")  # Answer.version of a body

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._sent = 0
        self._stopped = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self.started = self.deadline = 0.0

    def _take(self) -> bool:
        with self._lock:
            if self._stopped.is_set() or self._sent >= self.count or time.monotonic() > self.deadline:
                return False
            self._sent += 1
            return True

    def _worker(self) -> None:
        with requests.Session() as session:
            while self._take():
                started = time.monotonic()
                try:
                    resp = session.get(self.url, headers=self.headers, timeout=10)
                    body = resp.json() if resp.status_code == 200 else {}
                    self.answers.append(Answer(resp.status_code, self.version(body) if body else None,
                                               body.get("user"), started, time.monotonic() - started))
                except (requests.RequestException, ValueError):
                    self.answers.append(Answer(0, None, None, started, time.monotonic() - started))

    def start(self) -> Load:
        self.started = time.monotonic()
        self.deadline = self.started + self.seconds
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="load")
        for _ in range(self.threads):
            self._pool.submit(self._worker)
        return self

    def wait(self) -> list[Answer]:
        assert self._pool is not None
        self._pool.shutdown(wait=True)
        return self.answers

    def stop(self) -> list[Answer]:
        self._stopped.set()
        return self.wait()

    def run(self) -> list[Answer]:
        return self.start().wait()


def failures(answers: list[Answer]) -> list[Answer]:
    return [a for a in answers if not a.ok]


def versions(answers: list[Answer]) -> dict[str | None, int]:
    """How many answers came from each version (or track)."""
    counts: dict[str | None, int] = {}
    for answer in answers:
        counts[answer.version] = counts.get(answer.version, 0) + 1
    return counts


@dataclass
class Stack:
    """Ports, servers and the auth token of a running data plane."""

    work: Path
    token: str  # token mode: alice's token; basic mode: alice's password
    ports: dict[str, int]
    auth_mode: str = "token"
    servers: dict[str, Server] = field(default_factory=dict)
    envoy_objects: list[dict[str, Any]] = field(default_factory=list)
    prometheus_objects: list[dict[str, Any]] = field(default_factory=list)
    canary_traffic_since: float | None = None  # time.monotonic() when traffic with a running canary began

    @property
    def edge(self) -> str:
        return f"http://127.0.0.1:{self.ports['edge']}"

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.ports['prometheus']}"

    @property
    def auth_header(self) -> dict[str, str]:
        if self.auth_mode == "basic":
            return {"Authorization": "Basic " + base64.b64encode(f"alice:{self.token}".encode()).decode()}
        return {"Authorization": f"Bearer {self.token}"}

    def load(self, **kwargs: Any) -> Load:
        return Load(f"{self.edge}/qotm/", self.auth_header, **kwargs)

    def envoy_counter(self, name: str) -> int:
        """One of Envoy's stats by its full name (`cluster.qotm.upstream_rq_retry`) from the admin API; 0 if absent."""
        text = requests.get(f"http://127.0.0.1:{self.ports['admin']}/stats?filter=^{re.escape(name)}$",
                            timeout=5).text
        match = re.search(rf"^{re.escape(name)}: (\d+)$", text, re.MULTILINE)
        return int(match.group(1)) if match else 0

    def host_flags(self, cluster: str, port: int) -> str:
        """Envoy's health flags of one host, e.g. "healthy" or "/failed_active_hc" (admin /clusters)."""
        text = requests.get(f"http://127.0.0.1:{self.ports['admin']}/clusters", timeout=5).text
        key = f"{cluster}::127.0.0.1:{port}::health_flags::"
        lines = [line for line in text.splitlines() if line.startswith(key)]
        return lines[0][len(key):] if lines else "absent"

    def wait_host(self, cluster: str, server: str, healthy: bool, timeout: float = 30) -> None:
        port = self.ports[server]
        wait_for(lambda: (self.host_flags(cluster, port) == "healthy") == healthy, timeout,
                 f"Envoy seeing {server} {'healthy' if healthy else 'unhealthy'}")

    def start_canary(self) -> None:
        self.servers["canary"].start()
        self.wait_host("qotm-canary-pods", "canary", healthy=True)

    def stop_canary(self) -> None:
        self.servers["canary"].stop()
        self.wait_host("qotm-canary-pods", "canary", healthy=False)

    def ensure_stables(self) -> None:
        for name in ("stable1", "stable2"):
            self.servers[name].start()
            self.wait_host("qotm", name, healthy=True)

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Prometheus HTTP API instant query; fails on a query error."""
        body = requests.get(f"{self.prometheus}/api/v1/query", params={"query": promql}, timeout=10).json()
        assert body["status"] == "success", f"{promql}: {body}"
        return body["data"]["result"]

    def values(self, promql: str, label: str = "envoy_cluster_name") -> dict[str, float]:
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(promql)}


HEALTH_CHECK_INTERVAL = "1s"  # short in tests, so Envoy notices processes coming and going within seconds


def _qotm(stack: Stack, name: str, version: str, delay: float, threads: int) -> Server:
    port = stack.ports[name]
    return Server(
        f"QOTM {name}", [binary("gunicorn"), "--bind", f"127.0.0.1:{port}", "--threads", str(threads), "qotm:app"],
        stack.work / f"{name}.log", ready=lambda: responds(f"http://127.0.0.1:{port}/health"),
        env={"QOTM_VERSION": version, "QOTM_DELAY": str(delay), "LOG_LEVEL": "warning"}, cwd=apps.QOTM_DIR)


def _auth(stack: Stack) -> Server:
    """The auth service in token mode (alice's token) or basic mode (alice's password, hashed the way
    `python auth.py hash` does: werkzeug's default scrypt, as slow and as big as in the workshop)."""
    port = stack.ports["auth"]
    credentials = stack.work / "credentials.txt"
    if stack.auth_mode == "basic":
        credentials.write_text(f"alice:{generate_password_hash(stack.token)}\nbob:{generate_password_hash('bob')}\n")
        variable = "AUTH_USERS_FILE"
    else:
        credentials.write_text(f"alice:{stack.token}\nbob:someone-elses-token\n")
        variable = "AUTH_TOKENS_FILE"
    return Server(
        "auth", [sys.executable, "auth.py"], stack.work / "auth.log",
        ready=lambda: responds(f"http://127.0.0.1:{port}/health"),
        env={"AUTH_MODE": stack.auth_mode, variable: str(credentials), "LOG_LEVEL": "warning",
             "HOST": "127.0.0.1", "PORT": str(port)}, cwd=apps.AUTH_DIR)


def _container_args(objects: list[dict[str, Any]], deployment: str) -> list[str]:
    (container,) = find(objects, "Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    return list(container.get("command", [])) + list(container["args"])


def envoy_server(stack: Stack, overrides: dict[str, str], ready: Callable[[], bool] | None = None) -> Server:
    """Envoy as rendered (service.yaml values overridden by `overrides`) on the stack's loopback ports; ready when
    `ready()` is true (default: the edge's /healthz answers 200)."""
    ports = stack.ports
    stack.envoy_objects = render(ENVOY_DIR, stack.work / "envoy-rendered", {
        **overrides,
        "listener": f"{{address: 127.0.0.1, port: {ports['edge']}}}",
        "stats_listener": f"{{address: 127.0.0.1, port: {ports['stats']}}}",
        "admin.port": ports["admin"],
        "upstreams.qotm": f"[127.0.0.1:{ports['stable1']},127.0.0.1:{ports['stable2']}]",
        "upstreams.qotm-canary": f"[127.0.0.1:{ports['canary']}]",
        "upstreams.auth": f"[127.0.0.1:{ports['auth']}]",
        "health_check.interval": HEALTH_CHECK_INTERVAL,
    })
    config = stack.work / "envoy.yaml"
    config.write_text(config_file(stack.envoy_objects, "envoy", "envoy.yaml"))
    command = _container_args(stack.envoy_objects, "envoy")
    argv = [binary("envoy"), *(str(config) if a == "/etc/envoy/envoy.yaml" else a for a in command[1:])]
    return Server("Envoy", argv, stack.work / "envoy.log",
                  ready=ready or (lambda: responds(f"http://127.0.0.1:{ports['edge']}/healthz")))


def _prometheus(stack: Stack) -> Server:
    port = stack.ports["prometheus"]
    stack.prometheus_objects = render(PROMETHEUS_DIR, stack.work / "prometheus-rendered", {
        "static_targets": f'{{envoy: {{path: /stats/prometheus, targets: ["127.0.0.1:{stack.ports["stats"]}"]}}}}',
    })
    config_dir = write_config_files(stack.prometheus_objects, "prometheus", stack.work / "prometheus")
    swaps = {
        "/etc/prometheus/config/prometheus.yml": str(config_dir / "prometheus.yml"),
        "/etc/prometheus/consoles": str(config_dir),
        "/prometheus": str(stack.work / "prometheus-data"),
    }
    argv = [binary("prometheus")]
    for arg in _container_args(stack.prometheus_objects, "prometheus"):
        flag, _, value = arg.partition("=")
        if flag == "--web.listen-address":
            value = f"127.0.0.1:{port}"
        argv.append(f"{flag}={swaps.get(value, value)}" if value else flag)
    return Server("Prometheus", argv, stack.work / "prometheus.log",
                  ready=lambda: responds(f"http://127.0.0.1:{port}/-/ready"))


def start_stack(work: Path, token: str, auth_mode: str = "token",
                envoy_overrides: dict[str, str] | None = None) -> Iterator[Stack]:
    """Start auth (token or basic mode), two stable QOTMs, Envoy (service.yaml values overridden by
    `envoy_overrides`) and Prometheus (the canary is created but not started); stop every process at the end."""
    names = ("edge", "stats", "admin", "stable1", "stable2", "canary", "auth", "prometheus")
    stack = Stack(work=work, token=token, ports={name: free_port() for name in names}, auth_mode=auth_mode)
    stack.servers = {
        "auth": _auth(stack),
        "stable1": _qotm(stack, "stable1", "stable", 0, threads=8),
        "stable2": _qotm(stack, "stable2", "stable", 0, threads=8),
        # 500 ms per request: more threads than the image's 8 so 10% of a fast load does not queue up.
        "canary": _qotm(stack, "canary", "canary", 0.5, threads=32),
    }
    stack.servers["envoy"] = envoy_server(stack, envoy_overrides or {})
    stack.servers["prometheus"] = _prometheus(stack)
    try:
        for name in ("auth", "stable1", "stable2", "envoy", "prometheus"):
            stack.servers[name].start()
        yield stack
    finally:
        for server in stack.servers.values():
            server.stop()
