"""Where a deployed Service can be reached from the shell: a port-forward the shell keeps open, LoadBalancer
address, NodePort, or a port-forward to run first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forge.cluster import ClusterAPI
from forge.cluster.kube import ApiError
from forge.errors import ForgeError

# NAMESPACE/SERVICE=URL,...: Services this shell reaches through port-forwards it keeps open (a classroom seat's
# joined shell sets it: its Services are ClusterIP and only the API server is reachable from the laptop).
SERVICE_URLS = "FORGE_SERVICE_URLS"


@dataclass(frozen=True)
class Endpoint:
    service: str  # the Kubernetes Service name
    url: str
    command: str | None = None  # run this first (a port-forward) when the Service is not exposed outside the cluster

    def __str__(self) -> str:
        return f"Service/{self.service} at {self.url}" + (f"  (first run: {self.command})" if self.command else "")


def pick_port(ports: list[dict[str, Any]]) -> dict[str, Any]:
    """The port a person wants: one named http(s), else 80/443/8080, else the first."""
    for wanted in ("http", "https"):
        for port in ports:
            if port.get("name") == wanted:
                return port
    for number in (80, 443, 8080):
        for port in ports:
            if port.get("port") == number:
                return port
    return ports[0]


def local_port(port: int) -> int:
    """A port-forward's local port: the same number when unprivileged, else 8000 + port (80 -> 8080)."""
    return port if port >= 1024 else 8000 + port


def service_urls(env: Mapping[str, str]) -> dict[str, str]:
    """FORGE_SERVICE_URLS as NAMESPACE/SERVICE -> URL; ForgeError naming the variable for an entry that is not one."""
    found = {}
    for item in (part.strip() for part in env.get(SERVICE_URLS, "").split(",")):
        if not item:
            continue
        key, sep, url = item.partition("=")
        namespace, slash, name = key.partition("/")
        if not (sep and slash and namespace and name and url.startswith(("http://", "https://"))):
            raise ForgeError(f"{SERVICE_URLS}: {item!r} is not NAMESPACE/SERVICE=URL")
        found[key] = url.rstrip("/")
    return found


def node_address(cluster: ClusterAPI) -> str | None:
    """An address of a Ready node (ExternalIP preferred), or None when nodes cannot be listed."""
    try:
        nodes = cluster.list("/api/v1/nodes")
    except ApiError:
        return None
    for node in nodes:
        conditions = (node.get("status") or {}).get("conditions") or []
        if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            continue
        addresses = {a.get("type"): a.get("address") for a in (node.get("status") or {}).get("addresses") or []}
        found = addresses.get("ExternalIP") or addresses.get("InternalIP")
        if found:
            return found
    return None


def _scheme(port: dict[str, Any]) -> str:
    return "https" if port.get("name") == "https" or port.get("port") == 443 else "http"


def port_forward(cluster: ClusterAPI, svc: dict[str, Any], local: int | None = None) -> tuple[list[str], str]:
    """The `kubectl port-forward` argv that reaches `svc` (a Service with ports) from this machine, and the URL it
    serves: local port `local`, else the Service port (8000 + port below 1024)."""
    meta = svc.get("metadata") or {}
    port = pick_port((svc.get("spec") or {})["ports"])
    local = local or local_port(int(port["port"]))
    argv = ["kubectl", "--context", cluster.context, "-n", meta.get("namespace", cluster.namespace), "port-forward",
            f"service/{meta.get('name', '?')}", f"{local}:{port['port']}"]
    return argv, f"{_scheme(port)}://127.0.0.1:{local}"


def endpoint(cluster: ClusterAPI, svc: dict[str, Any], node: str | None,
             forwarded: Mapping[str, str] | None = None) -> Endpoint | None:
    """How to reach `svc` (a Service object); None when it has no ports. `forwarded`: service_urls()."""
    spec = svc.get("spec") or {}
    meta = svc.get("metadata") or {}
    if not spec.get("ports") or spec.get("type") == "ExternalName":
        return None
    port = pick_port(spec["ports"])
    scheme = _scheme(port)
    name = meta.get("name", "?")
    kept = (forwarded or {}).get(f"{meta.get('namespace', cluster.namespace)}/{name}")
    if kept:
        return Endpoint(name, kept)
    for ingress in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        host = ingress.get("ip") or ingress.get("hostname")
        if host:
            return Endpoint(name, f"{scheme}://{host}:{port['port']}")
    if spec.get("type") in ("NodePort", "LoadBalancer") and port.get("nodePort") and node:
        return Endpoint(name, f"{scheme}://{node}:{port['nodePort']}")
    argv, url = port_forward(cluster, svc)
    return Endpoint(name, url, " ".join(argv))


def endpoints(cluster: ClusterAPI, services: list[dict[str, Any]], preferred: str | None = None,
              forwarded: Mapping[str, str] | None = None) -> list[Endpoint]:
    """Endpoints of `services`, best first: the one named `preferred`, then exposed (or forwarded) ones, then the
    rest."""
    node = node_address(cluster) if any((s.get("spec") or {}).get("type") in ("NodePort", "LoadBalancer")
                                        for s in services) else None
    found = [e for e in (endpoint(cluster, s, node, forwarded) for s in services) if e is not None]
    return sorted(found, key=lambda e: (e.service != preferred, e.command is not None))
