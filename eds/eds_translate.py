"""EndpointSlices (as the Kubernetes API returns them) -> an Envoy v3 ClusterLoadAssignment (as JSON).

A resource name is a Service name, optionally with a port name: `qotm` (its port `http`, or its only port) or
`qotm:metrics`. Only IPv4 slices count. Per endpoint:
  ready (and not terminating)         -> HEALTHY: gets traffic
  terminating but still serving       -> DRAINING: no new requests, requests in flight finish
  anything else (starting, failing)   -> left out: Envoy never sees it, like a headless Service's DNS
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SERVICE_LABEL = "kubernetes.io/service-name"
CLA_TYPE = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
DEFAULT_PORT_NAME = "http"

Slice = dict[str, Any]


def split_name(resource: str) -> tuple[str, str | None]:
    service, _, port = resource.partition(":")
    return service, port or None


def slice_port(endpoint_slice: Slice, port_name: str | None) -> int | None:
    """The slice's port number for `port_name`; without one, `http` or else the only TCP port."""
    ports = [p for p in endpoint_slice.get("ports") or [] if p.get("protocol", "TCP") == "TCP" and p.get("port")]
    wanted = [p for p in ports if p.get("name") == (port_name or DEFAULT_PORT_NAME)]
    if wanted:
        return int(wanted[0]["port"])
    if port_name is None and len(ports) == 1:
        return int(ports[0]["port"])
    return None


def health_of(conditions: dict[str, Any]) -> str | None:
    """Envoy's health_status for an endpoint's conditions (API defaults: ready and serving nil mean true)."""
    ready = conditions.get("ready") is not False
    serving = conditions.get("serving", conditions.get("ready")) is not False
    if conditions.get("terminating") is True:
        return "DRAINING" if serving else None
    return "HEALTHY" if ready else None


def load_assignment(resource: str, slices: Iterable[Slice]) -> dict[str, Any]:
    """The ClusterLoadAssignment for `resource` from every slice of the namespace (others are ignored)."""
    service, port_name = split_name(resource)
    hosts: dict[tuple[str, int], str] = {}
    for endpoint_slice in slices:
        labels = (endpoint_slice.get("metadata") or {}).get("labels") or {}
        if labels.get(SERVICE_LABEL) != service or endpoint_slice.get("addressType") != "IPv4":
            continue
        port = slice_port(endpoint_slice, port_name)
        if port is None:
            continue
        for endpoint in endpoint_slice.get("endpoints") or []:
            status = health_of(endpoint.get("conditions") or {})
            for address in (endpoint.get("addresses") or [])[:1]:  # one address per endpoint (the API's rule)
                if status and (address, port) not in hosts:  # a pod listed by two slices counts once
                    hosts[address, port] = status
    lb_endpoints = [{"endpoint": {"address": {"socket_address": {"address": address, "port_value": port}}},
                     "health_status": status} for (address, port), status in sorted(hosts.items())]
    return {"@type": CLA_TYPE, "cluster_name": resource, "endpoints": [{"lb_endpoints": lb_endpoints}]}
