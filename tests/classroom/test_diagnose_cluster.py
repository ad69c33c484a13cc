"""Stuck diagnosis against a real API server (cluster tier): a seat deployed by forge and then broken by hand, a
solve dry-run through the stand-ins with the real kubectl and forge; the diff names the broken objects, and nothing
in the namespace changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from classroom import checks, diagnose
from exercises.lab.page import Page, Script, Step
from tests.cluster.launcher import KubeCluster

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = "localhost:31001"


class KubectlReader:
    """The seat's live objects, read with the instructor's kubectl."""

    def __init__(self, cluster: KubeCluster) -> None:
        self.cluster = cluster

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        group, _, version = api_version.rpartition("/")
        resource = f"{kind.lower()}.{version}.{group}" if group else kind.lower()
        done = self.cluster.kubectl("get", resource, name, "-n", namespace, "-o", "json", "--ignore-not-found")
        return json.loads(done.stdout) if done.stdout.strip() else None


def snapshot(cluster: KubeCluster, namespace: str) -> dict[str, str]:
    listing = cluster.kubectl_json("get", "deployments,services,configmaps,pods", "-n", namespace)
    return {f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"] for o in listing["items"]}


def test_the_diff_names_the_broken_objects_and_changes_nothing(kube_cluster: KubeCluster, kube_namespace: str,
                                                               tmp_path: Path) -> None:
    env = {**kube_cluster.env, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}  # forge
    seat = diagnose.Seat(kube_namespace, REGISTRY)
    with diagnose.sandbox(ROOT, seat, env) as (workspace, _):  # forge.yaml names the seat's registry
        rendered = subprocess.run(["forge", "render", "qotm", "-n", kube_namespace, "--set",
                                   "profiles.default.replicas=3"], cwd=workspace, capture_output=True, text=True,
                                  check=True, env=env)
    kube_cluster.kubectl("apply", "--server-side", "--field-manager=forge", "-n", kube_namespace, "-f", "-",
                         input=rendered.stdout)
    # What the participant broke: one replica instead of three, the Service gone; and a ConfigMap of their own.
    kube_cluster.kubectl("scale", "deployment/qotm", "--replicas=1", "-n", kube_namespace)
    kube_cluster.kubectl("delete", "service", "qotm", "-n", kube_namespace)
    kube_cluster.kubectl("create", "configmap", "leftover", "-n", kube_namespace)
    before = snapshot(kube_cluster, kube_namespace)

    solve = "\n".join([
        "forge deploy qotm --set profiles.default.replicas=3",
        "kubectl rollout status deployment/qotm --timeout=60s",
        "kubectl delete configmap leftover --ignore-not-found",
        "kubectl exec qotm-0 -- true",
    ])
    found = diagnose.diagnose(ROOT, solve, "5.2", seat, KubectlReader(kube_cluster), env)
    print(found.text())
    assert [(o.ident, o.change) for o in found.objects] == [
        ("Deployment qotm", "differs"), ("Service qotm", "missing"), ("ConfigMap leftover", "extra")]
    changed = [line for line in found.objects[0].diff.splitlines() if line[:1] in "+-" and line[:3] not in
               ("---", "+++")]
    assert changed == ["-  replicas: 1", "+  replicas: 3"]
    assert found.errors == []
    assert [line.split(" (")[0] for line in found.skipped] == [
        "kubectl rollout status deployment/qotm --timeout=60s", "kubectl exec qotm-0 -- true"]
    assert snapshot(kube_cluster, kube_namespace) == before  # a dry run: nothing changed

    # The instructor's cluster-side checks of the same seat: read-only.
    def step(index: int, check: str) -> Step:
        return Step(5, index, f"step {index}", 1, (), Script(check, 1), Script("true", 1), "hint")

    results = checks.page_checks(Page(5, "five", ROOT, None, Script("true", 1), Script("true", 1), (
        step(1, "test \"$(kubectl get deployment qotm -o jsonpath='{.spec.replicas}')\" = 1"),
        step(2, "test \"$(kubectl get deployment qotm -o jsonpath='{.spec.replicas}')\" = 3"),
        step(3, "grep -q qotm forge.yaml"),
        step(4, "kubectl get configmap leftover -o name\nkubectl delete configmap leftover"),
    )), seat, ROOT, env)
    assert [(r.step, r.ok) for r in results] == [("5.1", True), ("5.2", False), ("5.3", None), ("5.4", None)]
    assert results[2].why == "`grep` reads a file of the participant's"
    assert results[3].why == "`kubectl delete` is not a read"
    refused = checks.run_check(step(4, "kubectl get configmap leftover -o name\nkubectl delete configmap leftover "
                                       "|| echo refused"), seat, ROOT, env)
    assert refused.ok is None  # not even run: the check is not a read
    assert snapshot(kube_cluster, kube_namespace) == before
