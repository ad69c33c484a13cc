"""Stuck diagnosis (classroom/diagnose.py, classroom/dryrun.py) without a cluster: which commands of a solve the
stand-ins dry-run, run, delete or skip, and the diff between a seat's live objects and what the solve leaves
(server fields left out, forge's version masked, Secret values hidden). The real dry run against a real API
server: tests/classroom/test_diagnose_cluster.py."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from classroom import checks, diagnose, dryrun
from exercises.lab import course

pytestmark = pytest.mark.unit

NS = ("-n", "room-ana")
ENV = {dryrun.NAMESPACE: "room-ana"}


@pytest.mark.parametrize("line, kind, argv", [
    ("kubectl get pod hello -o name", "run", ("kubectl", "get", "pod", "hello", "-o", "name")),
    ("kubectl apply -f qotm/kubernetes/deployment.yaml", "dry",
     ("kubectl", "apply", "-f", "qotm/kubernetes/deployment.yaml", *NS, "--dry-run=server", "-o", "json")),
    ("kubectl scale deployment/qotm --replicas=3", "dry",
     ("kubectl", "scale", "deployment/qotm", "--replicas=3", *NS, "--dry-run=server", "-o", "json")),
    ("kubectl set env deployment/qotm QOTM_VERSION=1.1", "dry",
     ("kubectl", "set", "env", "deployment/qotm", "QOTM_VERSION=1.1", *NS, "--dry-run=server", "-o", "json")),
    ("kubectl rollout undo deployment/qotm", "dry",
     ("kubectl", "rollout", "undo", "deployment/qotm", *NS, "--dry-run=server", "-o", "json")),
    ("kubectl delete pod hello --ignore-not-found", "delete",
     ("kubectl", "delete", "pod", "hello", "--ignore-not-found", *NS, "--dry-run=server", "-o", "name")),
    ("kubectl -l app=qotm get pods", "run", ("kubectl", "-l", "app=qotm", "get", "pods")),
    ("kubectl rollout status deployment/qotm --timeout=60s", "skip", ()),
    ("kubectl wait --for=condition=Ready pod/hello", "skip", ()),
    ("kubectl exec postgres-0 -- psql -c INSERT", "skip", ()),
    ("kubectl port-forward service/qotm 8080:8080", "skip", ()),
])
def test_kubectl_stand_in(line: str, kind: str, argv: tuple[str, ...]) -> None:
    words = line.split()
    found = dryrun.action(words[0], words[1:], ENV)
    assert found.kind == kind
    if argv:
        assert found.argv == argv


def test_forge_deploy_is_rendered_then_dry_run_applied_as_forge() -> None:
    found = dryrun.action("forge", ["deploy", "qotm", "--set", "profiles.default.replicas=3", "--timeout", "2m",
                                    "--dry-run", "--context=kind-x"], ENV)
    assert found.kind == "dry"
    assert found.stdin_manifests == ("forge", "render", "qotm", "--set", "profiles.default.replicas=3", *NS)
    assert found.argv == ("kubectl", "apply", "--server-side", "--field-manager=forge", "--force-conflicts", *NS,
                          "--dry-run=server", "-o", "json", "-f", "-")


@pytest.mark.parametrize("args, environ, selector", [
    (["delete", "auth"], {}, "forge.shopbox.io/profile=default"),
    (["delete", "auth", "--profile", "token"], {}, "forge.shopbox.io/profile=token"),
    (["delete", "qotm"], {"CANARY": "true"}, "forge.shopbox.io/profile=canary"),
    (["delete", "qotm"], {"FORGE_PROFILE": "token"}, "forge.shopbox.io/profile=token"),
    (["canary", "abort", "qotm"], {}, "app.kubernetes.io/name=qotm,forge.shopbox.io/profile=canary"),
    (["delete", "auth", "envoy", "-p", "token"], {}, "app.kubernetes.io/name in (auth,envoy),forge.shopbox.io/"
                                                     "profile=token"),
    (["--profile", "token", "delete", "auth"], {}, "app.kubernetes.io/name=auth,forge.shopbox.io/profile=token"),
])
def test_forge_delete_is_a_dry_run_delete_by_forges_labels(args: list[str], environ: dict[str, str],
                                                            selector: str) -> None:
    found = dryrun.action("forge", args, {**ENV, **environ})
    assert found.kind == "delete"
    assert selector in found.argv[found.argv.index("-l") + 1]
    assert found.argv[-3:] == ("--dry-run=server", "-o", "name")


@pytest.mark.parametrize("line", ["forge setup --yes", "forge canary promote qotm", "forge build qotm",
                                  "curl -s http://x/crash", "hey -z 20s http://x", "sleep 5",
                                  "timeout 60 bash -c true", "docker build -t x .", "docker push x"])
def test_what_is_not_a_change_of_an_object_is_skipped_with_a_reason(line: str) -> None:
    words = line.split()
    found = dryrun.action(words[0], words[1:], ENV)
    assert found.kind == "skip" and found.why


def test_forge_options_before_the_command_reach_the_render() -> None:
    found = dryrun.action("forge", ["--profile", "token", "deploy", "envoy-canary/auth", "--timeout=2m"], ENV)
    assert found.stdin_manifests == ("forge", "render", "--profile", "token", "envoy-canary/auth", *NS)


def test_forge_reads_run_as_they_are() -> None:
    assert dryrun.action("forge", ["list", "-o", "json"], ENV) == dryrun.Action("run", ("forge", "list", "-o",
                                                                                         "json"))


def deployment(replicas: int, version: str, **extra: Any) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "qotm", "app.kubernetes.io/version": version}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "qotm", "namespace": "room-ana", "labels": labels, "uid": "u1", "resourceVersion": "7",
                     "generation": 3, "managedFields": [{"manager": "forge"}],
                     "annotations": {"deployment.kubernetes.io/revision": "3"}, **extra},
        "spec": {"replicas": replicas, "template": {
            "metadata": {"labels": dict(labels)},
            "spec": {"containers": [{"name": "qotm", "image": f"localhost:31001/qotm:{version}",
                                     "env": [{"name": "QOTM_VERSION", "value": version}]}]}}},
        "status": {"readyReplicas": replicas},
    }


class Reader:
    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects = {(o["apiVersion"], o["kind"], o["metadata"]["name"]): o for o in objects}
        self.asked: list[tuple[str, str, str, str]] = []

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        self.asked.append((api_version, kind, namespace, name))
        return copy.deepcopy(self.objects.get((api_version, kind, name)))


def test_the_diff_names_what_differs_and_masks_forges_version() -> None:
    live = deployment(1, "1111aaaa2222bbbb")
    after = deployment(3, "cccc3333dddd4444")  # another checkout: another version, the same sources otherwise
    found = diagnose.object_diff(live, after)
    assert found is not None and found.change == "differs" and found.ident == "Deployment qotm"
    changed = [line for line in found.diff.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")]
    assert changed == ["-  replicas: 1", "+  replicas: 3"]
    assert "1111aaaa" not in found.diff and "cccc3333" not in found.diff
    assert diagnose.object_diff(live, deployment(1, "cccc3333dddd4444")) is None  # only the version: the same


def test_secret_values_are_never_shown() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "postgres-credentials"},
              "data": {"password": "c2VjcmV0"}}
    found = diagnose.object_diff(None, secret)
    assert found is not None and found.change == "missing"
    assert "c2VjcmV0" not in found.diff and "+  password: <hidden>" in found.diff


def test_compare_reads_the_live_objects_and_sorts_out_the_capture() -> None:
    reader = Reader(deployment(1, "1111aaaa2222bbbb"),
                    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hello"}, "spec": {"nodeName": "n1"}},
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "envoy"}, "data": {"a": "1"}})
    captures = [
        {"line": "forge deploy qotm", "objects": [deployment(3, "cccc3333dddd4444"),
                                                  {"apiVersion": "v1", "kind": "ConfigMap",
                                                   "metadata": {"name": "envoy"}, "data": {"a": "1"}},
                                                  {"apiVersion": "v1", "kind": "Service",
                                                   "metadata": {"name": "qotm"}, "spec": {"type": "ClusterIP"}}]},
        {"line": "kubectl delete pod hello", "deleted": ["pod/hello"]},
        {"line": "kubectl delete pod gone", "deleted": ["pod/gone"]},
        {"line": "kubectl rollout status deployment/qotm", "skipped": "a wait"},
        {"line": "kubectl apply -f x.yaml", "error": 'Error from server (Forbidden): exceeded quota: seat'},
    ]
    found = diagnose.compare(captures, reader, "room-ana", "5.2", diagnose.RESOURCES)
    assert [(o.ident, o.change) for o in found.objects] == [
        ("Deployment qotm", "differs"), ("Service qotm", "missing"), ("Pod hello", "extra")]
    assert found.same == ["ConfigMap envoy"]
    assert found.skipped == ["kubectl rollout status deployment/qotm (a wait)"]
    assert found.errors == ["kubectl apply -f x.yaml: Error from server (Forbidden): exceeded quota: seat"]
    assert ("apps/v1", "Deployment", "room-ana", "qotm") in reader.asked
    text = found.text()
    assert text.splitlines()[0] == "step 5.2 in namespace room-ana: 3 objects differ from the solve"
    assert "Pod hello: there (the solve deletes it)" in text and "+  replicas: 3" in text
    nothing = diagnose.compare([], reader, "room-ana", "5.2")
    assert nothing.text() == "step 5.2 in namespace room-ana: the seat's objects are as the step's solve leaves them"


def test_a_stand_in_captures_a_skip_and_lets_the_solve_go_on(tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    env = {**os.environ, dryrun.CAPTURE: str(capture), dryrun.NAMESPACE: "room-ana", dryrun.REAL_PATH: "/nowhere"}
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = str(root)
    done = subprocess.run([sys.executable, "-m", "classroom.dryrun", "kubectl", "wait", "pod/x"], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0
    done = subprocess.run([sys.executable, "-m", "classroom.dryrun", "kubectl", "apply", "-f", "x.yaml"], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0  # kubectl is not on /nowhere: an error in the capture, not in the solve
    entries = [json.loads(line) for line in capture.read_text().splitlines()]
    assert entries[0] == {"line": "kubectl wait pod/x", "skipped": "a wait"}
    assert entries[1]["line"] == "kubectl apply -f x.yaml" and entries[1]["error"]


def test_which_checks_of_the_real_pages_the_instructor_runs_cluster_side() -> None:
    pages = course.load(Path(__file__).resolve().parents[2] / "exercises")
    verdicts = {step.id: checks.shell_only(step.check.text) for page in pages if page.number >= 3
                for step in page.steps}
    assert verdicts, "no steps on pages 3-9"
    for step, why in verdicts.items():
        text = next(s.check.text for p in pages for s in p.steps if s.id == step)
        if any(word in text for word in ("git ", "curl ", "forge render", "forge url", "kubectl exec")):
            assert why, f"{step} reads the participant's files or shell, but counts as cluster-side"
    assert sum(why is None for why in verdicts.values()) >= len(verdicts) // 2  # most steps: cluster state only


@pytest.mark.parametrize("script, why", [
    ("kubectl rollout status deployment/qotm --timeout=5s", None),
    ("test \"$(kubectl get deployment qotm -o jsonpath='{.status.readyReplicas}')\" = 3", None),
    ("config=$(kubectl get configmap envoy -o jsonpath='{.data.envoy\\.yaml}')\ngrep -q 'retry_on: 5xx,' <<< "
     "\"$config\"", None),
    ("forge list -o json | jq -e 'any(.[]; .ready)' > /dev/null", None),
    ("grep -q '^registry: ' forge.yaml", "`grep` reads a file of the participant's"),
    ("test -n \"$(git diff -- qotm/qotm.py)\"", "`git` runs in the participant's shell"),
    ("rendered=$(forge render qotm)", "`forge render` reads the participant's files or port-forwards"),
    ("test \"$(kubectl exec postgres-0 -- psql -Atc 'SELECT 1')\" = 1", "`kubectl exec` runs in a pod"),
    ("kubectl delete pod x", "`kubectl delete` is not a read"),
    ("jq -e . < state.json", "reads a file of the participant's"),
])
def test_shell_only_checks(script: str, why: str | None) -> None:
    assert checks.shell_only(script) == why


def test_read_only_stand_ins_refuse_every_change() -> None:
    env = {**ENV, dryrun.READ_ONLY: "1"}
    assert dryrun.action("kubectl", ["wait", "--for=condition=Ready", "pod/x"], env).kind == "run"
    assert dryrun.action("kubectl", ["rollout", "status", "deployment/x"], env).kind == "run"
    for line in ("kubectl apply -f x.yaml", "kubectl delete pod x", "kubectl exec x -- true", "forge deploy qotm",
                 "forge render qotm", "curl http://x"):
        words = line.split()
        assert dryrun.action(words[0], words[1:], env).kind == "refuse", line


def test_a_delete_that_matches_nothing_deletes_nothing(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "kubectl"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'No resources found'\necho 'deployment.apps/qotm-canary'\n")
    fake.chmod(0o755)
    found = dryrun.action("forge", ["canary", "abort", "qotm"], ENV)
    entry, code = dryrun.perform(found, "forge canary abort qotm", {dryrun.REAL_PATH: str(fake.parent)}, None)
    assert code == 0 and entry["deleted"] == ["deployment.apps/qotm-canary"]


def test_the_sandbox_renders_as_forge_setup_would_in_the_seat(tmp_path: Path) -> None:
    """A Service forge renders as NodePort on the local cluster is ClusterIP in the sandbox, as in the seat after
    `forge setup` (the seat's quota admits no NodePort: the dry run of the instructor's NodePort was refused)."""
    kubeconfig = tmp_path / "kubeconfig"  # the instructor's; forge render reads no cluster
    kubeconfig.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "class",
                                      "clusters": [{"name": "class", "cluster": {"server": "https://127.0.0.1:1"}}],
                                      "contexts": [{"name": "class", "context": {"cluster": "class"}}]}))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
           "KUBECONFIG": str(kubeconfig)}
    root = Path(__file__).resolve().parents[2]
    with diagnose.sandbox(root, diagnose.Seat("room-ana", "localhost:31000"), env) as (workspace, sandbox_env):
        done = subprocess.run(["forge", "render", "envoy-canary/envoy", "-o", "json"], cwd=workspace,
                              env=sandbox_env, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    services = [o for o in json.loads(done.stdout)["items"] if o["kind"] == "Service"]
    assert services, done.stdout[:500]
    assert {s["spec"].get("type", "ClusterIP") for s in services} == {"ClusterIP"}
