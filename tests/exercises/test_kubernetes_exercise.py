"""Exercise 2 runs as written: every testable `$ kubectl ...` step of exercises/02-kubernetes.md, in page order,
against the local control plane (tests/cluster), each exiting 0. The page's own waits (`rollout status`,
`kubectl wait --for=jsonpath=...`) are the assertions about the cluster's state.

The page's commands name no namespace; here they run with a copy of the cluster's kubeconfig whose context
points at the test's namespace, from the repository root (the page's paths are relative to it)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.cluster import KubeCluster
from tests.exercises.steps import read

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "exercises" / "02-kubernetes.md"
NAMESPACE_FLAGS = ("-n", "--namespace", "-A", "--all-namespaces")


def kubeconfig_for(cluster: KubeCluster, namespace: str, path: Path) -> Path:
    """A copy of the cluster's kubeconfig whose current context uses `namespace`."""
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    current = config["current-context"]
    (context,) = [c for c in config["contexts"] if c["name"] == current]
    context["context"]["namespace"] = namespace
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def test_every_kubectl_step_of_exercise_2_runs(kube_cluster: KubeCluster, kube_namespace: str, tmp_path: Path) -> None:
    steps = [s for s in read(PAGE) if s.testable]
    assert len(steps) >= 10, "exercise 2 lost its kubectl steps"
    others = [f"line {s.line}: {s.command}" for s in steps if not s.command.startswith("kubectl ")]
    assert not others, "not kubectl: put these in a block marked <!-- no-test -->:\n" + "\n".join(others)
    # A namespace on the page would escape the test's namespace (and the participant's context).
    namespaced = [s.command for s in steps if any(f in s.command.split() for f in NAMESPACE_FLAGS)]
    assert not namespaced, namespaced

    env = {**os.environ, "KUBECONFIG": str(kubeconfig_for(kube_cluster, kube_namespace, tmp_path / "kubeconfig"))}
    started = time.monotonic()
    for step in steps:
        done = subprocess.run(
            ["bash", "-c", step.command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
        )
        assert done.returncode == 0, (
            f"{PAGE.name}:{step.line}: `{step.command}` exited {done.returncode}\n{done.stdout}{done.stderr}"
        )
    print(f"{len(steps)} steps of {PAGE.name} in {time.monotonic() - started:.1f} s")

    # The steps ran in the test's namespace, and the page's clean-up left nothing of QOTM behind there.
    events = kube_cluster.kubectl_json("get", "events", "-n", kube_namespace)["items"]
    assert any(e["involvedObject"]["name"] == "qotm" for e in events), "the steps did not run in the namespace"
    left = kube_cluster.kubectl_json("get", "deployments,services,pods", "-n", kube_namespace, "-l", "app=qotm")
    assert left["items"] == []
