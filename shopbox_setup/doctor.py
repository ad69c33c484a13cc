"""The in-cluster checks of `./shopbox.sh doctor`: the kind network, the registry answering /v2/, the API server's
/livez. Printed in doctor's line format; `shopbox.sh` prints the host's checks around them and counts them all.
Run with the host's network (or, on Docker Desktop, through host.docker.internal), so that the registry and the
API server are checked at the host ports a participant uses."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from shopbox_setup import engine
from shopbox_setup.runner import Runner
from shopbox_setup.settings import Settings

CREATES = "./shopbox.sh creates it"


@dataclass(frozen=True)
class Check:
    status: str  # ok, warn, fail, missing, skip
    name: str
    detail: str
    fix: str = ""

    def lines(self) -> str:
        """As shopbox.sh's report(): `[ OK ] name  detail`, then the fix indented under the detail."""
        label = {"ok": " OK ", "warn": "WARN", "fail": "FAIL", "missing": "MISS", "skip": "SKIP"}[self.status]
        text = f"[{label}] {self.name:<14} {self.detail}"
        return text + (f"\n       {'':<14} fix: {self.fix}" if self.fix else "")


def http_status(url: str) -> int | None:
    """The HTTP status of GET url (a self-signed certificate is fine: the API server's), None without an answer."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except (OSError, ValueError):
        return None


def network_check(runner: Runner, s: Settings) -> Check:
    if engine.network_members(runner, s.network) is None:
        return Check("missing", "kind-network", f"no Docker network {s.network}", f"{CREATES} (with the cluster)")
    return Check("ok", "kind-network", f"{s.network} exists")


def registry_check(runner: Runner, s: Settings, host: str, status: Callable[[str], int | None]) -> Check:
    state = engine.container_state(runner, s.registry)
    if not state:
        return Check("missing", "registry", f"no container {s.registry}", CREATES)
    if state != "running":
        return Check("fail", "registry", f"container {s.registry} is {state}", f"docker start {s.registry}")
    url = f"http://localhost:{s.registry_port}/v2/"
    code = status(f"http://{host}:{s.registry_port}/v2/")
    if code == 200:
        return Check("ok", "registry", f"{s.registry} answers at {url}")
    return Check("fail", "registry", f"{s.registry} is running but {url} does not answer ({code or 'no response'})",
                 f"docker logs {s.registry}; then ./shopbox.sh down && ./shopbox.sh")


def api_server_check(runner: Runner, s: Settings, host: str, status: Callable[[str], int | None]) -> Check:
    nodes = engine.nodes(runner, s)
    if not nodes:
        return Check("missing", "api-server", f"no kind cluster {s.cluster}", CREATES)
    listed = " ".join(f"{name}:{state}" for name, state in nodes.items())
    server = f"https://127.0.0.1:{s.api_port}"
    if status(f"https://{host}:{s.api_port}/livez") == 200:
        return Check("ok", "api-server", f"{server} is live (nodes: {listed})")
    return Check("fail", "api-server", f"cluster {s.cluster} (nodes: {listed}) does not answer on {server}",
                 f"docker start {next(iter(nodes))}; if that does not help: ./shopbox.sh down && ./shopbox.sh")


def checks(runner: Runner, settings: Settings, host: str = "127.0.0.1",
           status: Callable[[str], int | None] = http_status) -> list[Check]:
    """The kind network, the registry and the API server; `host` is where the host's published ports are."""
    return [network_check(runner, settings), registry_check(runner, settings, host, status),
            api_server_check(runner, settings, host, status)]
