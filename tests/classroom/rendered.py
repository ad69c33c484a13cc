"""What forge renders for every service of pages 3-9, as a seat gets it: the edge's and Prometheus' Services as
ClusterIP (forge renders them NodePort for the local kind cluster; in a seat, whose quota allows no NodePort, the
seat's forge configuration makes them ClusterIP: CONVENTIONS.md 4)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def rendered(namespace: str | None = None) -> str:
    """`forge render .` at the repository root: every service, as forge would deploy it."""
    forge = Path(sys.executable).parent / "forge"
    return subprocess.run([str(forge), "render", ".", *(["-n", namespace] if namespace else [])], cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=120).stdout


def as_in_a_seat(text: str) -> list[dict[str, Any]]:
    documents = [d for d in yaml.safe_load_all(text) if d]
    for doc in documents:
        if doc["kind"] == "Service" and doc["spec"].get("type") == "NodePort":
            doc["spec"]["type"] = "ClusterIP"
            for port in doc["spec"]["ports"]:
                port.pop("nodePort", None)
    return documents
