"""eds against the local control plane (cluster tier): the real process, logged in with a token of its own
ServiceAccount (so only the Role that forge renders for it), follows EndpointSlices as they are created, changed
and deleted; and that Role lets it read EndpointSlices of its namespace and nothing else."""

from __future__ import annotations

import http.client
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster import KubeCluster
from tests.mesh.apps import EDS_DIR
from tests.platform.procs import free_port, running
from tests.services.rendered import render

pytestmark = pytest.mark.cluster


def slice_manifest(name: str, service: str, endpoints: dict[str, bool]) -> str:
    return yaml.safe_dump({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": service,
                                              "endpointslice.kubernetes.io/managed-by": "shopbox-test"}},
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}} for ip, ready in endpoints.items()],
    })


def token_kubeconfig(cluster: KubeCluster, namespace: str, path: Path) -> Path:
    """A kubeconfig that logs in as the eds ServiceAccount (a short-lived token), nothing more."""
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    token = cluster.kubectl("create", "token", "eds", "-n", namespace, "--duration=10m").stdout.strip()
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "eds",
        "clusters": [{"name": "local", "cluster": admin["clusters"][0]["cluster"]}],
        "users": [{"name": "eds", "user": {"token": token}}],
        "contexts": [{"name": "eds", "context": {"cluster": "local", "user": "eds", "namespace": namespace}}],
    }))
    return path


def answer(port: int, service: str) -> dict[str, str] | None:
    """eds's hosts for `service` ("ip:port" -> health), or None while it cannot answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("POST", "/v3/discovery:endpoints", body=json.dumps({"resource_names": [service]}))
        response = conn.getresponse()
        if response.status != 200:
            return None
        (group,) = json.loads(response.read())["resources"][0]["endpoints"]
    except OSError:
        return None
    return {f"{e['endpoint']['address']['socket_address']['address']}:"
            f"{e['endpoint']['address']['socket_address']['port_value']}": e["health_status"]
            for e in group["lb_endpoints"]}


def seen_within(check: Callable[[], bool], timeout: float) -> float:
    """Seconds until check() holds (polled every 50 ms); fails after `timeout`."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"not seen within {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture
def rbac(kube_cluster: KubeCluster, kube_namespace: str, tmp_path: Path) -> str:
    """eds's ServiceAccount, Role and RoleBinding as forge renders them, applied in the test namespace."""
    out = tmp_path / "rendered"
    render(EDS_DIR, out, namespace=kube_namespace)
    kube_cluster.kubectl("apply", "-n", kube_namespace, "-f", str(out / "eds" / "rbac.yaml"))
    return kube_namespace


def test_eds_role_reads_endpointslices_of_its_namespace_only(kube_cluster: KubeCluster, rbac: str) -> None:
    user = f"system:serviceaccount:{rbac}:eds"

    def can(*args: str) -> bool:
        result = kube_cluster.kubectl("auth", "can-i", *args, "--as", user, check=False)
        return result.stdout.strip() == "yes"

    assert can("list", "endpointslices.discovery.k8s.io", "-n", rbac)
    assert can("watch", "endpointslices.discovery.k8s.io", "-n", rbac)
    assert not can("create", "endpointslices.discovery.k8s.io", "-n", rbac)
    assert not can("list", "endpointslices.discovery.k8s.io", "-n", "default")
    assert not can("list", "pods", "-n", rbac)
    assert not can("get", "secrets", "-n", rbac)


def test_eds_follows_endpointslices(kube_cluster: KubeCluster, rbac: str, tmp_path: Path, report) -> None:
    namespace, port = rbac, free_port()
    apply = lambda text: kube_cluster.kubectl("apply", "-n", namespace, "-f", "-", input=text)  # noqa: E731
    apply(slice_manifest("web-a", "web", {"10.1.0.1": True, "10.1.0.2": True}))
    env = {"KUBECONFIG": str(token_kubeconfig(kube_cluster, namespace, tmp_path / "eds.kubeconfig")),
           "EDS_NAMESPACE": namespace, "PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": "debug"}
    with running([sys.executable, "eds.py"], tmp_path / "eds.log", lambda: answer(port, "web") is not None, "eds",
                 env=env, cwd=EDS_DIR):
        assert answer(port, "web") == {"10.1.0.1:8080": "HEALTHY", "10.1.0.2:8080": "HEALTHY"}
        steps: list[tuple[str, Callable[[], Any], dict[str, str]]] = [
            ("a second slice", lambda: apply(slice_manifest("web-b", "web", {"10.1.0.3": True})),
             {"10.1.0.1:8080": "HEALTHY", "10.1.0.2:8080": "HEALTHY", "10.1.0.3:8080": "HEALTHY"}),
            ("an endpoint not ready", lambda: apply(slice_manifest("web-a", "web", {"10.1.0.1": False,
                                                                                    "10.1.0.2": True})),
             {"10.1.0.2:8080": "HEALTHY", "10.1.0.3:8080": "HEALTHY"}),
            ("a slice deleted", lambda: kube_cluster.kubectl("delete", "endpointslice", "web-a", "-n", namespace),
             {"10.1.0.3:8080": "HEALTHY"}),
        ]
        for what, change, expected in steps:
            change()
            took = seen_within(lambda e=expected: answer(port, "web") == e, 10)
            report(f"eds answer after {what}: {took * 1000:.0f} ms after kubectl returned")
        assert answer(port, "other") == {}
