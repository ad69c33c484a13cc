"""Pods for the class cluster's tests: each one a small TCP server (socat answering every connection with the pod's
name) and a client (socat, getent), on the node image's component layer, pinned to a node."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tests.class_cluster.cluster import ClassCluster
from tests.kind import node_image

PORT = 8080


def toolbox_image() -> str:
    """The node image's shared Debian component layer (bash, coreutils, getent, socat, iproute2), preloaded in
    every node under the name of kind's storage helper."""
    return node_image.storage_image_names()[1]


def server_pod(name: str, node: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": name, **(labels or {})}},
            "spec": {"nodeName": node, "tolerations": [{"operator": "Exists"}], "terminationGracePeriodSeconds": 0,
                     "containers": [{
                         "name": "server", "image": toolbox_image(),
                         "command": ["socat", f"TCP-LISTEN:{PORT},fork,reuseaddr", f"SYSTEM:echo {name}"],
                         "readinessProbe": {"tcpSocket": {"port": PORT}, "periodSeconds": 1}}]}}


def service(name: str, node_port: bool = False) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": "NodePort" if node_port else "ClusterIP", "selector": {"app": name},
                     "ports": [{"port": PORT, "targetPort": PORT}]}}


def policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name}, "spec": spec}


# What a class does to every seat namespace: ingress only from the namespace's own pods.
ONLY_OWN_NAMESPACE = policy("only-own-namespace", {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]})


def policy_synced(cluster: ClassCluster, node: str, namespace: str, network_policy: dict[str, Any]) -> None:
    """Wait until kube-router on NODE has rules for the policy (its rules' comments name policy and namespace:
    "policy name NAME namespace NS" for pod selectors, "policy name: NAME namespace NS" for ipBlocks and ports)."""
    name = network_policy["metadata"]["name"]
    marker = re.compile(f"policy name:? {re.escape(name)} namespace {re.escape(namespace)}")
    cluster.wait_for(f"kube-router on {node} to enforce {namespace}/{name}",
                     lambda: marker.search(cluster.node_exec(node, "iptables-save", "-t", "filter").stdout),
                     timeout=60)


def apply(cluster: ClassCluster, namespace: str, *objects: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-",
                    input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def run_servers(cluster: ClassCluster, namespace: str, pods: dict[str, str]) -> dict[str, str]:
    """Server pods NAME -> NODE, each with a ClusterIP Service of its name, Ready and routed by every node's
    kube-proxy; their pod IPs by name."""
    apply(cluster, namespace, *(server_pod(name, node) for name, node in pods.items()),
          *(service(name) for name in pods))
    cluster.kubectl("wait", "-n", namespace, "--for=condition=Ready", "--timeout=120s",
                    *(f"pod/{name}" for name in pods), timeout=150)
    items = cluster.kubectl_json("get", "pods", "-n", namespace)["items"]
    ips = {pod["metadata"]["name"]: pod["status"]["podIP"] for pod in items if pod["metadata"]["name"] in pods}
    for node in cluster.nodes:
        services_routed(cluster, node, namespace, ips)
    return ips


def services_routed(cluster: ClassCluster, node: str, namespace: str, endpoints: dict[str, str]) -> None:
    """Wait until kube-proxy on NODE sends each Service NAME to its pod IP (its rule's comment: "NS/NAME -> IP:PORT").
    kube-proxy programs a new Service a second or more after its pod is Ready. Before that, a connection to the
    ClusterIP leaves the cluster by the node's default route, and on these machines the network outside accepts
    every TCP connection and closes it: `connect()` then sees `silent`, not the pod's answer (CI failed that way)."""
    markers = [f'"{namespace}/{name} -> {ip}:{PORT}"' for name, ip in endpoints.items()]
    cluster.wait_for(f"kube-proxy on {node} to route the Services {', '.join(endpoints)} of {namespace}",
                     lambda: all(m in cluster.node_exec(node, "iptables-save", "-t", "nat").stdout for m in markers),
                     timeout=60)


@dataclass(frozen=True)
class Reach:
    """What a TCP connection from a pod got: `answer` (and what the server said), `silent` (accepted, nothing said:
    not one of these servers, which all say their name), `refused` or `timeout`."""

    outcome: str
    text: str = ""


def connect(cluster: ClassCluster, namespace: str, pod: str, host: str, port: int = PORT) -> Reach:
    """Connect from POD to HOST:PORT and read what the server says (3 s to connect, 3 s to answer)."""
    proc = cluster.kubectl("exec", "-n", namespace, pod, "--", "socat", "-t3", "-T3", "STDIO",
                           f"TCP:{host}:{port},connect-timeout=3", check=False, timeout=30)
    if proc.returncode == 0:
        return Reach("answer", proc.stdout.strip()) if proc.stdout.strip() else Reach("silent")
    if "refused" in proc.stderr:
        return Reach("refused")
    if "timed out" in proc.stderr:
        return Reach("timeout")
    raise AssertionError(f"socat from {namespace}/{pod} to {host}:{port} failed unexpectedly: {proc.stderr}")


def resolve(cluster: ClassCluster, namespace: str, pod: str, name: str) -> str:
    """The address NAME resolves to in POD (cluster DNS), or "" when it does not resolve."""
    proc = cluster.kubectl("exec", "-n", namespace, pod, "--", "getent", "hosts", name, check=False, timeout=30)
    return proc.stdout.split()[0] if proc.returncode == 0 and proc.stdout.strip() else ""
