"""Pages 3-9 run unchanged on the local kind cluster and in a classroom seat (exercises/README.md, "Names"): the
registry is `$REGISTRY`, the edge and Prometheus are `forge url` from the shell and the host addresses kind maps
(and a seat's shell publishes) from the browser; no node address, no NodePort, no cluster-scoped object."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exercises.lab.page import Page, read
from exercises.lab.words import script_commands, simple_commands
from tests.exercises.browser import prose

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_PAGES = sorted(p for p in (ROOT / "exercises").glob("0*.md") if int(p.name[:2]) >= 3)
# What only the local kind cluster has: its registry's address, its node, the node ports it maps.
LOCAL_ONLY = re.compile(r"localhost:5001|shopbox-control-plane|NodePort|nodePort|node port|NODE_PORT|3008\d|3009\d")
# The browser addresses of the edge and Prometheus on the participant's machine (SHOPBOX_EDGE_URL and
# SHOPBOX_PROMETHEUS_URL by default); anything else on localhost is the shell's own port-forward.
BROWSER = re.compile(r"http://localhost:(\d+)")
BROWSER_PORTS = {"8080", "9090"}
CLUSTER_SCOPED = {"namespace", "namespaces", "ns", "node", "nodes", "persistentvolume", "persistentvolumes", "pv",
                  "storageclass", "storageclasses", "clusterrole", "clusterroles", "clusterrolebinding",
                  "clusterrolebindings", "customresourcedefinition", "crd"}
WRITES = {"create", "apply", "delete", "label", "annotate", "patch", "edit", "replace", "cordon", "drain", "taint"}
# Reads too: a seat's Role reads its own namespace only (classroom/rbac.py), so `kubectl get nodes` is refused there.
READS = {"get", "describe", "top", "wait"}
WHOLE_CLUSTER = {"cluster-info", "cordon", "drain", "taint", "uncordon"}


def commands(page: Page) -> list[str]:
    """Every command the page runs: `$ ` lines, their replacements, checks, solves and its reset."""
    lines = [command for line in page.lines for command in (line.command, *line.instead)]
    scripts = [page.reset, page.check, *(s for step in page.steps for s in (step.check, step.solve))]
    return lines + [command for script in scripts for command in script_commands(script.text)]


@pytest.mark.parametrize("path", CLUSTER_PAGES, ids=lambda p: p.name)
def test_no_page_names_what_only_the_local_cluster_has(path: Path) -> None:
    found = [f"{path.name}:{n}: {line.strip()}" for n, line in enumerate(path.read_text().splitlines(), start=1)
             if LOCAL_ONLY.search(line)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", CLUSTER_PAGES, ids=lambda p: p.name)
def test_images_come_from_the_registry_the_shell_names(path: Path) -> None:
    pushes = [c for c in commands(read(path)) for words in simple_commands(c)
              if words[:2] in (["docker", "push"], ["docker", "tag"]) or words[:2] == ["docker", "build"]]
    assert all('"$REGISTRY/' in c for c in pushes), pushes


def cluster_scoped(words: list[str]) -> bool:
    """Whether a kubectl command reads or writes what a seat's namespaced Role cannot reach."""
    if words[0] != "kubectl" or len(words) < 2:
        return False
    if words[1] in WHOLE_CLUSTER or "--all-namespaces" in words or "-A" in words:
        return True
    kinds = words[2].split("/")[0].lower().split(",") if len(words) > 2 else []
    return words[1] in WRITES | READS and any(kind in CLUSTER_SCOPED for kind in kinds)


@pytest.mark.parametrize("path", CLUSTER_PAGES, ids=lambda p: p.name)
def test_no_command_touches_a_cluster_scoped_object(path: Path) -> None:
    bad = [c for c in commands(read(path)) for words in simple_commands(c) if cluster_scoped(words)]
    assert not bad, bad


@pytest.mark.parametrize("path", CLUSTER_PAGES, ids=lambda p: p.name)
def test_browser_addresses_are_the_ones_the_host_reaches(path: Path) -> None:
    """Outside its commands (which run in the shell: a port-forward there is the shell's), every http://localhost
    address on a page is the edge's or Prometheus' host port, and the page says which variable holds it."""
    text = prose(path.read_text())
    assert set(BROWSER.findall(text)) <= BROWSER_PORTS, BROWSER.findall(text)
    for port, variable in (("8080", "SHOPBOX_EDGE_URL"), ("9090", "SHOPBOX_PROMETHEUS_URL")):
        if f"http://localhost:{port}/" in text:
            assert f"echo ${variable}" in text, f"{path.name} sends the browser to :{port} without `echo ${variable}`"


def test_the_rules_catch_what_they_are_for() -> None:
    assert LOCAL_ONLY.search("curl http://shopbox-control-plane:$NODE_PORT/")
    assert LOCAL_ONLY.search("kubectl run hello --image=localhost:5001/qotm:1.0")
    assert not LOCAL_ONLY.search('docker push "$REGISTRY/qotm:1.0"')
    page = "open http://localhost:9090/\n```bash\n$ curl http://localhost:8081/\n```\n"
    assert BROWSER.findall(prose(page)) == ["9090"]
    for command in ("kubectl label namespace default pod-security.kubernetes.io/enforce-", "kubectl get nodes",
                    "kubectl cluster-info", "kubectl get pods,nodes -o wide", "kubectl get pods -A",
                    "kubectl describe node/shopbox-control-plane"):
        assert cluster_scoped(simple_commands(command)[0]), command
    for command in ("kubectl get pods -o wide", "kubectl get statefulset,pvc,pods", "kubectl version",
                    "kubectl wait --for=delete pod -l app=qotm", "kubectl get networkpolicy"):
        assert not cluster_scoped(simple_commands(command)[0]), command
