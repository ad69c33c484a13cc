"""What forge renders for every service of pages 3-9: as on the local kind cluster, and as in a seat (the seat's
forge.yaml, which `forge setup` writes there: `node_ports: false`, so the edge's and Prometheus' Services are
ClusterIP, and the registry's pull Secret in every pod; CONVENTIONS.md 4)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tests.forge.cli import forge

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("qotm", "envoy-canary", "prometheus-canary", "usersvc", "postgres", "eds", "jaeger")
SEAT_FORGE_YAML = "node_ports: false\nimage_pull_secrets: [registry-pull]\n"


def rendered(namespace: str | None = None) -> str:
    """`forge render .` at the repository root: every service, as forge deploys it on the local cluster."""
    return forge("render", ".", *(["-n", namespace] if namespace else []), cwd=ROOT, process=True,
                 timeout=120).ok().stdout


def in_a_seat(namespace: str) -> list[dict[str, Any]]:
    """The same services rendered by forge with a seat's forge.yaml, into `namespace`."""
    with tempfile.TemporaryDirectory(prefix="seat-workspace-") as tmp:
        workspace = Path(tmp)
        for service in SERVICES:
            shutil.copytree(ROOT / service, workspace / service)
        (workspace / ".git").mkdir()  # the workspace root
        (workspace / "forge.yaml").write_text(SEAT_FORGE_YAML)
        text = forge("render", str(workspace), "-n", namespace, cwd=workspace, process=True,
                     timeout=120).ok().stdout
    return [d for d in yaml.safe_load_all(text) if d]
