"""The mesh lab's manifests and sidecar config exactly as forge renders them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.mesh.apps import USERSVC_DIR
from tests.services.rendered import config_file, render


def usersvc_objects(out: Path, overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """usersvc's objects as forge renders them (`overrides`: --set KEY=VALUE)."""
    return render(USERSVC_DIR, out, overrides)


def sidecar_config(objects: list[dict[str, Any]]) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(config_file(objects, "usersvc-sidecar", "envoy.yaml"))
    return config


def listener_routes(config: dict[str, Any], name: str) -> list[dict[str, Any]]:
    (listener,) = [item for item in config["static_resources"]["listeners"] if item["name"] == name]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    routes: list[dict[str, Any]] = manager["route_config"]["virtual_hosts"][0]["routes"]
    return routes


def clusters(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in config["static_resources"]["clusters"]}
