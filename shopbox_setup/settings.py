"""The names, ports and pins one `shopbox-setup` run works with: SHOPBOX_* variables (the host's `./shopbox.sh`
passes its own values) and versions.env (read by the one reader, versions_env)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shopbox_setup.runner import SetupError
from versions_env import REPOSITORY_FILE, read_versions

# The fixed NodePorts of the Envoy edge and of Prometheus (node_port in envoy-canary/envoy/service.yaml and
# prometheus-canary/service.yaml; a test keeps them equal), mapped to the edge and Prometheus host ports.
EDGE_NODE_PORT = 30080
PROMETHEUS_NODE_PORT = 30090
REQUIRED_KEYS = ("KIND_NODE_IMAGE", "REGISTRY_IMAGE")
# On a joined seat's forwarder container (./shopbox.sh join): `down` removes every container that carries it.
SEAT_LABEL = "io.shopbox.seat"


@dataclass(frozen=True)
class Settings:
    cluster: str = "shopbox"
    registry: str = "shopbox-registry"
    network: str = "kind"
    registry_port: int = 5001
    api_port: int = 6443
    edge_port: int = 8080
    prometheus_port: int = 9090
    versions: Mapping[str, str] | None = None

    @property
    def node_label(self) -> str:
        return f"io.x-k8s.kind.cluster={self.cluster}"

    def pin(self, key: str) -> str:
        return (self.versions or {})[key]


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name) or str(default)
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SetupError(f"{name}={value}: expected a port number (1-65535)")
    return int(value)


def from_env(environ: Mapping[str, str] = os.environ) -> Settings:
    """Settings from SHOPBOX_* (unset or empty: the default) and the versions file SHOPBOX_VERSIONS_FILE."""
    path = Path(environ.get("SHOPBOX_VERSIONS_FILE") or REPOSITORY_FILE)
    versions = read_versions(path)
    for key in REQUIRED_KEYS:
        if not versions.get(key):
            raise SetupError(f"{path}: {key} is missing or empty")
    return Settings(
        cluster=environ.get("SHOPBOX_CLUSTER") or "shopbox",
        registry=environ.get("SHOPBOX_REGISTRY_NAME") or "shopbox-registry",
        network=environ.get("SHOPBOX_KIND_NETWORK") or "kind",
        registry_port=_port(environ, "SHOPBOX_REGISTRY_PORT", 5001),
        api_port=_port(environ, "SHOPBOX_API_PORT", 6443),
        edge_port=_port(environ, "SHOPBOX_EDGE_PORT", 8080),
        prometheus_port=_port(environ, "SHOPBOX_PROMETHEUS_PORT", 9090),
        versions=versions,
    )
