"""The services' configs exactly as forge renders them: tests never keep a copy of their own.

`render()` runs `forge render SERVICE_DIR -n NAMESPACE --set K=V ... -o DIR` (in process, through forge's CLI:
tests/forge/cli.py) and returns the rendered Kubernetes objects; helpers pick files out of ConfigMaps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.forge.cli import forge

REPO = Path(__file__).resolve().parents[2]
ENVOY_DIR = REPO / "envoy-canary" / "envoy"
PROMETHEUS_DIR = REPO / "prometheus-canary"
NAMESPACE = "shop"


def render(service_dir: Path, out: Path, overrides: Mapping[str, Any] | None = None, *, namespace: str = NAMESPACE,
           canary: bool = False) -> list[dict[str, Any]]:
    """Every object `forge render` writes for the service(s) under `service_dir`, in file order. Fails the test if
    forge fails."""
    args = ["render", str(service_dir), "-n", namespace, "-o", str(out), *(["--canary"] if canary else [])]
    for key, value in (overrides or {}).items():
        args += ["--set", f"{key}={value}"]
    forge(*args).ok()
    return [doc for path in sorted(out.rglob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def config_file(objects: list[dict[str, Any]], configmap: str, key: str) -> str:
    return find(objects, "ConfigMap", configmap)["data"][key]


def write_config_files(objects: list[dict[str, Any]], configmap: str, directory: Path) -> Path:
    """Write every file of a ConfigMap into `directory` (as Kubernetes mounts it); returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for key, text in find(objects, "ConfigMap", configmap)["data"].items():
        (directory / key).write_text(text)
    return directory


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
