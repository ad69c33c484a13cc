"""`forge logs` and `forge port-forward` against a stand-in API server (tests/forge/fake_api.py).

The local control plane of the cluster tier runs kwok, which has no kubelet: it can serve neither pod logs nor a
port-forward, so these commands are tested here, through the real client code and real HTTP, against recorded
shapes of the API's answers; the port-forward itself is `kubectl port-forward`, replaced by a stand-in script.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from forge.cluster.inventory import Inventory
from forge.cluster.kube import ObjectRef
from tests.forge.cli import forge
from tests.forge.fake_api import FakeApi, write_kubeconfig

pytestmark = pytest.mark.unit

NS = "/api/v1/namespaces/shop"


def pod(name: str, *containers: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "shop"}, "spec": {"containers": [{"name": c} for c in containers]}}


@pytest.fixture
def pods() -> list[dict[str, Any]]:
    """The pods the API lists (a test may add one): qotm-a (one container), qotm-b (qotm and a sidecar)."""
    return [pod("qotm-a", "qotm"), pod("qotm-b", "qotm", "sidecar")]


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None, pods: list[dict[str, Any]]
        ) -> Iterator[FakeApi]:
    """qotm (default profile) deployed in namespace shop, with Service qotm (port 80 named http) and `pods`."""
    objects = [ObjectRef("v1", "Service", "shop", "qotm"), ObjectRef("apps/v1", "Deployment", "shop", "qotm")]
    inventory = Inventory("qotm", "default", "qotm", "0123456789abcdef", "shop", objects)
    with FakeApi() as fake:
        fake.routes[f"{NS}/configmaps"] = lambda q: (200, {"items": [inventory.configmap()]})
        fake.routes[f"{NS}/pods"] = lambda q: (200, {"items": list(pods)})
        fake.routes[f"{NS}/services/qotm"] = lambda q: (200, {
            "metadata": {"name": "qotm", "namespace": "shop"},
            "spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kubeconfig", fake.url, {"fake": "shop"},
                                                              "fake")))
        monkeypatch.chdir(tmp_path)
        yield fake


def logs_route(api: FakeApi, name: str, texts: dict[str, str]) -> None:
    api.routes[f"{NS}/pods/{name}/log"] = lambda q: (200, texts[q["container"]])


def test_logs_of_every_pod_prefixed(api: FakeApi) -> None:
    logs_route(api, "qotm-a", {"qotm": "started\nGET /quote 200\n"})
    logs_route(api, "qotm-b", {"qotm": "started\n", "sidecar": "ready\n"})
    result = forge("logs", "qotm", "--tail", "5")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "[qotm-a] started", "[qotm-a] GET /quote 200", "[qotm-b/qotm] started", "[qotm-b/sidecar] ready"]
    selectors = [q["labelSelector"] for path, q in api.requests if path == f"{NS}/pods"]
    assert selectors == ["app.kubernetes.io/instance=qotm,app.kubernetes.io/managed-by=forge,"
                         "app.kubernetes.io/name=qotm"]
    assert {q.get("tailLines") for path, q in api.requests if path.endswith("/log")} == {"5"}


def test_a_container_without_logs_yet_is_one_line(api: FakeApi) -> None:
    logs_route(api, "qotm-a", {"qotm": "started\n"})
    api.routes[f"{NS}/pods/qotm-b/log"] = lambda q: (400, {
        "kind": "Status", "reason": "BadRequest",
        "message": f'container "{q["container"]}" in pod "qotm-b" is waiting to start: ContainerCreating'})
    result = forge("logs", "qotm")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "[qotm-a] started",
        '[qotm-b/qotm] (no logs: container "qotm" in pod "qotm-b" is waiting to start: ContainerCreating)',
        '[qotm-b/sidecar] (no logs: container "sidecar" in pod "qotm-b" is waiting to start: ContainerCreating)',
    ]


def test_logs_of_what_is_not_deployed(api: FakeApi) -> None:
    result = forge("logs", "qotm", "--canary")
    assert (result.exit_code, result.stderr) == (1, "error: qotm: no canary deployment in namespace shop (context "
                                                    "fake); deployed profiles: default (choose one with --profile or "
                                                    "--canary)\n")


def _reader(stream: Any) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in stream], daemon=True).start()
    return lines


def _until(lines: queue.Queue[str], wanted: set[str], seconds: float = 30) -> set[str]:
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    while not wanted <= seen and time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            seen.add(lines.get(timeout=0.2))
    return seen


def test_follow_streams_picks_up_new_pods_and_stops_on_ctrl_c(api: FakeApi, pods: list[dict[str, Any]]) -> None:
    for name in ("qotm-a", "qotm-b", "qotm-c"):
        api.routes[f"{NS}/pods/{name}/log"] = lambda q, name=name: (200, api.hold([f"{name} {q['container']} up"]))
    process = subprocess.Popen([sys.executable, "-m", "forge", "logs", "qotm", "-f"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        out = _reader(process.stdout)
        first = {"[qotm-a] qotm-a qotm up", "[qotm-b/qotm] qotm-b qotm up", "[qotm-b/sidecar] qotm-b sidecar up"}
        assert _until(out, first) >= first
        pods.append(pod("qotm-c", "qotm"))  # a new pod of a rollout
        assert "[qotm-c] qotm-c qotm up" in _until(out, {"[qotm-c] qotm-c qotm up"})
        assert [q["follow"] for path, q in api.requests if path.endswith("/log")] == ["true"] * 4
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert process.stderr is not None and process.stderr.read() == "stopped following qotm\n"
    finally:
        process.kill()
        process.wait()


def fake_kubectl(directory: Path) -> None:
    script = directory / "kubectl"
    script.write_text('#!/bin/sh\necho "kubectl $*"\n')
    script.chmod(0o755)


@pytest.mark.parametrize(("args", "forwarded", "url"),
                         [([], "8080:80", "http://127.0.0.1:8080"), (["--port", "18080"], "18080:80",
                                                                        "http://127.0.0.1:18080")])
def test_port_forward_runs_kubectl_for_the_builds_service(api: FakeApi, tmp_path: Path, args: list[str],
                                                          forwarded: str, url: str) -> None:
    fake_kubectl(tmp_path)
    result = forge("port-forward", "qotm", *args, env={"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"},
                   process=True, timeout=60)  # a real process: forge becomes kubectl (execv)
    assert (result.exit_code, result.stderr) == (0, f"{url} -> Service/qotm (Ctrl-C stops)\n")
    assert result.stdout == f"kubectl --context fake -n shop port-forward service/qotm {forwarded}\n"


def test_port_forward_without_kubectl(api: FakeApi, tmp_path: Path) -> None:
    result = forge("port-forward", "qotm", env={"PATH": str(tmp_path)}, process=True, timeout=60)
    assert (result.exit_code, result.stderr) == (1, "error: kubectl not found on PATH (forge port-forward runs: "
                                                     "kubectl --context fake -n shop port-forward service/qotm "
                                                     "8080:80)\n")
