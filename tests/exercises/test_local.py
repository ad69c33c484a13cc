"""Which commands the local platform of the cluster tier cannot run (tests/exercises/local.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exercises.lab.page import read
from exercises.lab.words import simple_commands
from tests.exercises.local import why_not

pytestmark = pytest.mark.unit

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"


@pytest.mark.parametrize("command", [
    "kubectl get pods -l app=qotm",
    "kubectl cluster-info",
    "NODE_PORT=$(kubectl get service qotm -o jsonpath='{.spec.ports[0].nodePort}')",
    "CANARY=true forge deploy qotm",
    "forge canary abort qotm",
    "printf 'alice:%s\\n' \"$(python3 -c 'import secrets; print(secrets.token_hex(16))')\" > /tmp/tokens.txt",
])
def test_runs_here(command: str) -> None:
    assert why_not(command) is None


@pytest.mark.parametrize("command, reason", [
    ("docker build -t localhost:5001/qotm:1.0 qotm", "Docker network `kind`"),
    ('curl -s "$(forge url envoy)/qotm/" | jq .', "pods are simulated"),
    ("kubectl logs deploy/envoy | tail -n 1", "`kubectl logs` needs a kubelet"),
    ("kubectl port-forward deploy/envoy 9901 > /dev/null &", "`kubectl port-forward` needs a kubelet"),
    ("kill %1", "background port-forward"),
    ("kill $!", "background port-forward"),
    ("sleep 60", "only running pods produce"),
    ('forge canary status qotm --prometheus "$(forge url prometheus)"', "reads Prometheus"),
    ("./shopbox.sh doctor", "participant's machine"),
])
def test_needs_the_real_cluster(command: str, reason: str) -> None:
    assert reason in (why_not(command) or "")


@pytest.mark.parametrize("name", ["01-docker.md", "02-compose.md"])
def test_the_docker_pages_need_nothing_of_the_local_control_plane(name: str) -> None:
    """Why the cluster tier's replay starts at page 3: every line of pages 1 and 2 uses Docker or curls a
    container, or only makes the file that a Docker line then builds (they are replayed in the shopbox shell: the
    workshop tier, and page 2 in the docker tier)."""
    files_only = {"mkdir", "printf"}
    for line in read(EXERCISES / name).lines:
        programs = {words[0] for command in line.replayed for words in simple_commands(command)}
        assert any(why_not(command) for command in line.replayed) or programs <= files_only, line
