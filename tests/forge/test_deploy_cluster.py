"""forge end to end against a real Kubernetes API server (issue 5, list 1-8).

Real images are built by the real Docker engine from a copy of the workshop's services (qotm, envoy-canary,
prometheus-canary) and pushed to the real `registry` fixture; every test deploys into a fresh namespace with the
`forge` console script. kwok plays the kubelet: pods become Ready, or fail to pull / crash-loop when their pod
template carries the `shopbox.test/fail` annotation (tests/cluster/kwok.yaml).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.platform.procs import LineWatcher

pytestmark = pytest.mark.cluster

SERVICE_DIRS = ("qotm", "envoy-canary", "prometheus-canary")
FORGE = str(Path(sys.executable).parent / "forge")
LABELS = ("app.kubernetes.io/managed-by", "app.kubernetes.io/name", "app.kubernetes.io/instance",
          "app.kubernetes.io/version", "forge.shopbox.io/profile")
ROLLOUT = "180s"  # generous: kwok shares two cores with the builds of a whole team
NAMESPACE_DEFAULTS = {"ConfigMap/kube-root-ca.crt", "ServiceAccount/default"}  # made by the controller-manager


@dataclass
class Workspace:
    """A copy of the workshop's services in tmp_path, deploying into one fresh namespace."""

    root: Path
    namespace: str
    cluster: Any  # tests.cluster.launcher.KubeCluster

    @property
    def context(self) -> str:
        return self.cluster.kubectl("config", "current-context").stdout.strip()

    def forge(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
              timeout: float = 600) -> subprocess.CompletedProcess[str]:
        environment = {**self.cluster.env, "NO_COLOR": "1", **(env or {})}
        for name in ("CANARY", "FORGE_PROFILE"):
            if env is None or name not in env:
                environment.pop(name, None)
        return subprocess.run([FORGE, *args], cwd=cwd or self.root, env=environment, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def deploy(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """`forge deploy ARGS --timeout ...`, which must succeed."""
        return ok(self.forge("deploy", *args, "--timeout", ROLLOUT, env=env))

    def get(self, kind: str, name: str | None = None, *selector: str) -> Any:
        return self.cluster.kubectl_json("get", kind, *([name] if name else []), "-n", self.namespace, *selector)

    def exists(self, kind: str, name: str) -> bool:
        proc = self.cluster.kubectl("get", kind, name, "-n", self.namespace, "--ignore-not-found", "-o", "name",
                                    check=False)
        return bool(proc.stdout.strip())

    def rendered(self, path: str, *args: str) -> list[dict[str, Any]]:
        proc = ok(self.forge("render", path, "-n", self.namespace, *args))
        return [d for d in yaml.safe_load_all(proc.stdout) if d]

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text()
        assert old in text, f"{relative} no longer contains {old!r}"
        path.write_text(text.replace(old, new, 1))


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"{proc.args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def failed(proc: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a failed forge run."""
    assert proc.returncode == 1, f"{proc.args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return errors[0]


def state(ws: Workspace) -> dict[str, tuple[str, str]]:
    """Every object in the namespace (uid, resourceVersion) but pods, ReplicaSets and the namespace's defaults."""
    kinds = "deployments,replicasets,services,configmaps,serviceaccounts,roles,rolebindings,secrets"
    items = ws.get(kinds)["items"]
    return {
        f"{i['kind']}/{i['metadata']['name']}": (i["metadata"]["uid"], i["metadata"]["resourceVersion"])
        for i in items
        if i["kind"] != "ReplicaSet" and f"{i['kind']}/{i['metadata']['name']}" not in NAMESPACE_DEFAULTS
    }


def deployment(ws: Workspace, name: str) -> dict[str, Any]:
    return ws.get("deployment", name)


def image_of(dep: dict[str, Any]) -> str:
    return dep["spec"]["template"]["spec"]["containers"][0]["image"]


def version_of(obj: dict[str, Any]) -> str:
    return obj["metadata"]["labels"]["app.kubernetes.io/version"]


@pytest.fixture(scope="session")
def services_copy(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """The workshop's services as they are in the repo (caches and bytecode left out)."""
    root = tmp_path_factory.mktemp("services")
    for name in SERVICE_DIRS:
        shutil.copytree(repo_root / name, root / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
    # The workshop's fixed NodePorts (mapped to the host by kind) would collide between the namespaces of this
    # one shared API server: let Kubernetes choose them here.
    for descriptor in (root / "envoy-canary/envoy/service.yaml", root / "prometheus-canary/service.yaml"):
        text = descriptor.read_text()
        assert re.search(r"^node_port: \d+ ", text, re.M), f"{descriptor}: no fixed node_port any more"
        descriptor.write_text(re.sub(r"^node_port: \d+ ", "node_port: null ", text, flags=re.M))
    return root


@pytest.fixture(scope="module", autouse=True)
def remove_local_tags(docker_client: Any, registry: Any) -> Iterator[None]:
    """Untag, at the end, the images these tests built for this session's registry (it dies with the session)."""
    yield
    ours = tuple(f"{registry.host}/{name}:" for name in ("qotm", "auth"))
    for image in docker_client.images.list():
        for tag in image.tags:
            if tag.startswith(ours):
                docker_client.images.remove(tag)


@pytest.fixture
def ws(tmp_path: Path, services_copy: Path, kube_cluster: Any, kube_namespace: str, registry: Any,
       python_base_image: str) -> Iterator[Workspace]:
    root = tmp_path / "ws"
    shutil.copytree(services_copy, root)
    config = {"registry": registry.host, "namespace": kube_namespace, "build_args": {"BASE_IMAGE": python_base_image}}
    (root / "forge.yaml").write_text(yaml.safe_dump(config))
    yield Workspace(root, kube_namespace, kube_cluster)


def make_canary_slow(ws: Workspace) -> None:
    """The canary exercise: a slow version of QOTM."""
    ws.edit("qotm/qotm.py", '    """The quote handler."""\n', '    """The quote handler."""\n    time.sleep(0.5)\n')


def fail_pods(ws: Workspace, mode: str) -> None:
    """Make kwok fail QOTM's pods (tests/cluster/kwok.yaml convention)."""
    ws.edit("qotm/k8s/deployment.yaml", "      annotations:\n",
            f"      annotations:\n        shopbox.test/fail: {mode}\n")


# ---- 1. deploy everything ---------------------------------------------------------------------------------------


def test_deploy_everything(ws: Workspace, registry: Any):
    dry = ok(ws.forge("deploy", "--dry-run"))
    assert dry.stdout.splitlines()[0] == f"context: {ws.context}  namespace: {ws.namespace}"
    assert "Deployment/qotm would be created" in dry.stdout
    assert state(ws) == {}, "a dry run applied something"

    out = ws.deploy().stdout
    assert out.splitlines()[0] == f"context: {ws.context}  namespace: {ws.namespace}"

    expected = {name: ws.rendered(name) for name in ("qotm", "envoy-canary", "prometheus-canary")}
    versions = {}
    for docs in expected.values():
        for doc in docs:
            live = ws.get(doc["kind"], doc["metadata"]["name"])
            labels = live["metadata"]["labels"]
            assert {k: labels.get(k) for k in LABELS} == {k: doc["metadata"]["labels"][k] for k in LABELS}
            assert labels["app.kubernetes.io/managed-by"] == "forge"
            versions[labels["app.kubernetes.io/instance"]] = labels["app.kubernetes.io/version"]
            if doc["kind"] == "Deployment":
                template_labels = live["spec"]["template"]["metadata"]["labels"]
                assert {k: template_labels.get(k) for k in LABELS} == {k: labels[k] for k in LABELS}
                assert live["status"].get("readyReplicas") == live["spec"]["replicas"]
                assert live["status"].get("updatedReplicas") == live["spec"]["replicas"]
    assert set(versions) == {"qotm", "auth", "envoy", "prometheus"}

    for name in ("qotm", "auth"):  # the two services with a Dockerfile: built and pushed for real
        assert versions[name] in registry.tags(name)
        assert image_of(deployment(ws, name)) == f"{registry.host}/{name}:{versions[name]}"

    listed = json.loads(ok(ws.forge("list", "-o", "json")).stdout)
    assert {(r["service"], r["profile"], r["name"], r["version"], r["ready"]) for r in listed} == {
        (name, "default", name, versions[name], True) for name in versions
    }
    table = ok(ws.forge("list")).stdout.splitlines()
    assert table[0].split() == ["SERVICE", "PROFILE", "NAME", "VERSION", "READY"]
    assert ["qotm", "default", "qotm", versions["qotm"], "ready"] in [line.split() for line in table]

    node_port = next(p["nodePort"] for p in ws.get("service", "envoy")["spec"]["ports"] if p["name"] == "http")
    addresses = {a["type"]: a["address"] for a in ws.cluster.kubectl_json("get", "nodes")["items"][0]["status"]
                 ["addresses"]}
    node = addresses.get("ExternalIP") or addresses["InternalIP"]  # 127.0.0.1 for the local kwok node
    assert ok(ws.forge("url", "envoy")).stdout == f"http://{node}:{node_port}\n"
    headless = ok(ws.forge("url", "qotm"))
    assert headless.stdout == "http://127.0.0.1:8080\n"
    assert f"-n {ws.namespace} port-forward service/qotm 8080:8080" in headless.stderr
    assert f"envoy: reach Service/envoy at http://{node}:{node_port}" in out


# ---- 2. nothing changed -----------------------------------------------------------------------------------------


def test_redeploy_with_nothing_changed_builds_pushes_and_rolls_nothing(ws: Workspace, docker_client: Any,
                                                                     registry: Any):
    ws.deploy("qotm")
    dep = deployment(ws, "qotm")
    ref = image_of(dep)
    replicasets = {rs["metadata"]["uid"] for rs in ws.get("replicasets")["items"]}
    digest = registry_digest(registry, ref)
    since = time.time() - 1

    out = ws.deploy("qotm").stdout

    until = time.time() + 1
    events = [e for e in docker_client.events(since=since, until=until, decode=True, filters={"type": "image"})
              if ref in (e.get("id"), (e.get("Actor") or {}).get("Attributes", {}).get("name"))]
    assert [e["Action"] for e in events if e["Action"] in ("tag", "push", "build")] == []
    assert "building" not in out and "pushing" not in out
    assert registry_digest(registry, ref) == digest
    assert {rs["metadata"]["uid"] for rs in ws.get("replicasets")["items"]} == replicasets
    again = deployment(ws, "qotm")
    assert again["metadata"]["generation"] == dep["metadata"]["generation"]
    assert "Deployment/qotm unchanged" in out


def registry_digest(registry: Any, ref: str) -> str:
    import requests

    repository, tag = ref.removeprefix(registry.host + "/").rsplit(":", 1)
    resp = requests.head(f"{registry.url}/v2/{repository}/manifests/{tag}", timeout=10, headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"})
    assert resp.status_code == 200, f"{ref} is not in the registry"
    return resp.headers["Docker-Content-Digest"]


# ---- 3 + 4. canary beside stable, promote, abort -----------------------------------------------------------------


def test_canary_beside_stable_then_promote(ws: Workspace):
    ws.deploy("qotm")
    stable = deployment(ws, "qotm")

    make_canary_slow(ws)
    ws.deploy("qotm", env={"CANARY": "true"})

    canary = deployment(ws, "qotm-canary")
    canary_service = ws.get("service", "qotm-canary")
    assert canary_service["spec"]["clusterIP"] == "None"  # headless, like the stable one
    assert canary["metadata"]["labels"]["forge.shopbox.io/profile"] == "canary"
    assert version_of(canary) != version_of(stable)
    assert image_of(canary) != image_of(stable)
    unchanged = deployment(ws, "qotm")
    assert (unchanged["metadata"]["generation"], image_of(unchanged), version_of(unchanged)) == (
        stable["metadata"]["generation"], image_of(stable), version_of(stable))

    out = ok(ws.forge("canary", "promote", "qotm", "--timeout", ROLLOUT)).stdout
    assert f"promoting qotm-canary (version {version_of(canary)}) to qotm" in out

    promoted = deployment(ws, "qotm")
    assert promoted["metadata"]["uid"] == stable["metadata"]["uid"]
    assert image_of(promoted) == image_of(canary)
    assert version_of(promoted) == version_of(canary)
    assert promoted["status"].get("readyReplicas") == promoted["spec"]["replicas"] == 2  # stable profile's size
    assert not ws.exists("deployment", "qotm-canary")
    assert not ws.exists("service", "qotm-canary")
    assert not ws.exists("configmap", "forge-inventory-qotm-canary")
    listed = json.loads(ok(ws.forge("list", "-o", "json")).stdout)
    assert [(r["name"], r["version"]) for r in listed] == [("qotm", version_of(canary))]


def test_canary_abort_removes_only_the_canary(ws: Workspace):
    ws.deploy("qotm")
    make_canary_slow(ws)
    ws.deploy("qotm", env={"CANARY": "true"})
    assert ws.exists("deployment", "qotm-canary")
    before = {k: v for k, v in state(ws).items() if "canary" not in k}

    out = ok(ws.forge("canary", "abort", "qotm")).stdout

    assert "deleted Deployment/qotm-canary" in out and "deleted Service/qotm-canary" in out
    assert state(ws) == before
    assert failed(ws.forge("canary", "abort", "qotm")).startswith("error: qotm: no canary deployment in namespace")


# ---- 5. prune ---------------------------------------------------------------------------------------------------


def test_removed_template_is_pruned_and_nothing_else(ws: Workspace):
    ws.deploy()
    ws.deploy("qotm", env={"CANARY": "true"})
    ws.cluster.kubectl("create", "configmap", "by-hand", "-n", ws.namespace, "--from-literal=a=b")
    before = state(ws)

    (ws.root / "qotm" / "k8s" / "service-headless.yaml").unlink()
    out = ws.deploy("qotm").stdout

    assert "deleted Service/qotm" in out
    after = state(ws)
    assert "Service/qotm" not in after
    changed = {k for k in before if k in after and before[k] != after[k]}
    # The Deployment is untouched (same uid and resourceVersion); only the inventory records the new object list.
    assert changed <= {"ConfigMap/forge-inventory-qotm"}
    assert set(before) - set(after) == {"Service/qotm"}
    for kept in ("Service/qotm-canary", "ConfigMap/by-hand", "Service/envoy", "Service/auth", "Deployment/qotm"):
        assert after[kept] == before[kept]


# ---- 6. the API server rejects a manifest ----------------------------------------------------------------------


def test_api_rejection_names_the_object_and_changes_nothing(ws: Workspace):
    # A selector that does not match the pod labels passes the OpenAPI schema check; only the API server knows.
    ws.edit("qotm/k8s/deployment.yaml", "    matchLabels:\n      app.kubernetes.io/instance: {{ build.name }}\n",
            "    matchLabels:\n      app.kubernetes.io/instance: nobody\n")
    first = failed(ws.forge("deploy", "qotm", "--timeout", "30s"))
    assert first.startswith("error: Deployment/qotm: ")
    assert "`selector` does not match template `labels`" in first
    assert first.endswith("; nothing was applied")
    assert state(ws) == {}  # not even the Service, which comes first in apply order

    ws.edit("qotm/k8s/deployment.yaml", "instance: nobody", "instance: {{ build.name }}")
    ws.deploy("qotm")
    before = state(ws)
    ws.edit("qotm/k8s/service-headless.yaml", "  name: {{ build.name }}\n",
            "  name: {{ build.name }}\n  annotations: {changed: 'yes'}\n")
    ws.edit("qotm/k8s/deployment.yaml", "    matchLabels:\n      app.kubernetes.io/instance: {{ build.name }}\n",
            "    matchLabels:\n      app.kubernetes.io/instance: nobody\n")
    second = failed(ws.forge("deploy", "qotm", "--timeout", "30s"))
    assert second.startswith("error: Deployment/qotm: ")
    assert state(ws) == before
    assert "changed" not in (ws.get("service", "qotm")["metadata"].get("annotations") or {})


# ---- 7. rollout failures ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["image-pull", "crash"])
def test_rollout_failure_is_explained_within_the_timeout(ws: Workspace, registry: Any, mode: str):
    fail_pods(ws, mode)
    timeout = 45
    started = time.monotonic()
    proc = ws.forge("deploy", "qotm", "--timeout", f"{timeout}s")
    elapsed = time.monotonic() - started
    error = failed(proc)
    image = image_of(deployment(ws, "qotm"))
    assert image.startswith(f"{registry.host}/qotm:")
    if mode == "image-pull":
        assert error.startswith("error: Deployment/qotm ")
        assert ": pod qotm-" in error and f"image cannot be pulled: {image} (" in error
    else:
        assert error.startswith("error: Deployment/qotm ")
        assert "container qotm is crash looping (restarts " in error
        assert "last log lines unavailable" in error  # kwok runs no containers: no logs, and forge says so
    # Builds may be skipped or not; the wait itself must end at the timeout at the latest.
    assert elapsed < timeout + 60, f"took {elapsed:.0f} s"
    pods = [line for line in proc.stdout.splitlines() if line.strip().startswith("pod qotm-")]
    assert pods, proc.stdout  # the per-pod reasons are listed


# ---- 8. delete --------------------------------------------------------------------------------------------------


def test_delete_removes_exactly_one_service_profile(ws: Workspace):
    ws.deploy()
    ws.deploy("qotm", env={"CANARY": "true"})
    ws.cluster.kubectl("create", "configmap", "by-hand", "-n", ws.namespace, "--from-literal=a=b")
    before = state(ws)
    qotm = {"Deployment/qotm", "Service/qotm", "ConfigMap/forge-inventory-qotm"}

    out = ok(ws.forge("delete", "qotm")).stdout

    assert "deleted Deployment/qotm" in out
    after = state(ws)
    assert set(before) - set(after) == qotm
    assert {k: after[k] for k in after} == {k: before[k] for k in before if k not in qotm}
    assert failed(ws.forge("delete", "qotm")) == (
        f"error: qotm: no default deployment in namespace {ws.namespace} (context {ws.context}); "
        "deployed profiles: canary (choose one with --profile or --canary)"
    )


def test_delete_leaves_objects_that_lost_forges_labels(ws: Workspace):
    ws.deploy("qotm")
    ws.cluster.kubectl("label", "service", "qotm", "-n", ws.namespace, "forge.shopbox.io/profile=mine", "--overwrite")

    out = ok(ws.forge("delete", "qotm")).stdout

    assert "left Service/qotm alone" in out
    assert ws.exists("service", "qotm")
    assert not ws.exists("deployment", "qotm")


# ---- registry from the cluster (KEP-1755) -----------------------------------------------------------------------


def test_registry_from_the_clusters_local_registry_hosting(ws: Workspace, registry: Any):
    (ws.root / "forge.yaml").write_text(yaml.safe_dump({
        "namespace": ws.namespace,
        "build_args": yaml.safe_load((ws.root / "forge.yaml").read_text())["build_args"],
    }))
    hosting = yaml.safe_dump({"host": registry.host, "help": "https://kind.sigs.k8s.io/docs/user/local-registry/"})
    configmap = {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "local-registry-hosting", "namespace": "kube-public"},
                 "data": {"localRegistryHosting.v1": hosting}}
    ws.cluster.kubectl("apply", "-f", "-", input=json.dumps(configmap))
    try:
        ws.deploy("qotm")
    finally:
        ws.cluster.kubectl("delete", "configmap", "local-registry-hosting", "-n", "kube-public", check=False)
    assert image_of(deployment(ws, "qotm")).startswith(f"{registry.host}/qotm:")


# ---- nothing is applied when something before the apply fails -----------------------------------------------------


def test_failing_build_applies_nothing(ws: Workspace, registry: Any):
    ws.edit("qotm/Dockerfile", "COPY qotm.py", "RUN echo broken step && exit 3\nCOPY qotm.py")
    error = failed(ws.forge("deploy", "--timeout", "30s"))
    assert error.startswith(f"error: build of {registry.host}/qotm:")
    assert "RUN echo broken step && exit 3" in error
    assert state(ws) == {}  # not even the services whose images built fine


def test_missing_namespace_is_named(ws: Workspace):
    missing = f"{ws.namespace}-nowhere"
    assert failed(ws.forge("deploy", "qotm", "-n", missing)) == (
        f"error: namespace {missing} does not exist in context {ws.context} "
        f"(create it: kubectl create namespace {missing})"
    )


def test_missing_secret_is_named_before_anything_is_applied(ws: Workspace):
    # Unit twin: tests/forge/test_deploy_fakes.py::test_missing_secret_is_named_before_anything_is_applied
    ws.edit("qotm/k8s/deployment.yaml", "          env:\n",
            "          env:\n            - name: DB_PASSWORD\n"
            "              valueFrom: {secretKeyRef: {name: qotm-db, key: password}}\n")
    assert failed(ws.forge("deploy", "--timeout", "30s")) == (
        "error: Deployment/qotm: Secret qotm-db (env DB_PASSWORD of container qotm) does not exist in namespace "
        f"{ws.namespace}; nothing was applied (create it first: kubectl create secret generic qotm-db "
        f"-n {ws.namespace} --from-literal=password=...)"
    )
    assert state(ws) == {}  # not auth, envoy or prometheus either: the whole deploy stops
    ws.cluster.kubectl("create", "secret", "generic", "qotm-db", "-n", ws.namespace, "--from-literal=password=x")
    ws.deploy("qotm")
    assert deployment(ws, "qotm")["status"]["readyReplicas"] >= 1


def test_kind_the_cluster_does_not_serve_applies_nothing(ws: Workspace):
    (ws.root / "qotm" / "k8s" / "widget.yaml").write_text(
        "apiVersion: shop.example.com/v1\nkind: Widget\nmetadata:\n  name: {{ build.name }}\nspec: {size: 1}\n"
    )
    assert failed(ws.forge("deploy", "qotm")) == (
        "error: Widget/qotm: the cluster does not serve kind Widget in apiVersion shop.example.com/v1"
    )
    assert state(ws) == {}


# ---- forge dev (issue 15) ----------------------------------------------------------------------------------------

def test_dev_redeploys_a_one_file_change_and_leaves_the_deployment_on_ctrl_c(ws: Workspace):
    """`forge dev qotm`: deploy, watch; a one-line edit of qotm.py -> a new image, the new version rolled out;
    Ctrl-C -> exit 0, the deployment stays, forge says how to delete it. Prints the edit-to-Ready time."""
    import os
    import signal

    env = {k: v for k, v in {**ws.cluster.env, "NO_COLOR": "1"}.items() if k not in ("CANARY", "FORGE_PROFILE")}
    process = subprocess.Popen([FORGE, "dev", "qotm", "--timeout", ROLLOUT, "--interval", "0.5"], cwd=ws.root,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output = LineWatcher(process)

    def wait_for(prefix: str, timeout: float) -> str:
        try:
            return output.wait_for(prefix, timeout)
        except AssertionError as err:
            raise AssertionError(f"{err}\n{process.stderr.read() if process.poll() is not None else ''}") from None

    try:
        wait_for("dev: watching", 900)
        first = deployment(ws, "qotm")
        edited = time.monotonic()
        ws.edit("qotm/qotm.py", '    """The quote handler."""\n',
                '    """The quote handler."""\n    log.debug("dev loop")\n')
        ready = wait_for("dev: qotm ready", 300)
        seconds = time.monotonic() - edited
        wait_for("dev: watching", 60)
        second = deployment(ws, "qotm")
        assert version_of(second) != version_of(first) and image_of(second) != image_of(first)
        assert second["status"].get("availableReplicas") == second["spec"]["replicas"]
        assert ready.endswith("after the change")
        print(f"\nforge dev: one-file change of qotm.py -> new version Ready in {seconds:.1f} s "
              f"(forge: {ready}); kwok: no image pull, no container start")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        stderr = process.stderr.read()
        assert (f"left qotm deployed in namespace {ws.namespace}; remove it with: forge delete qotm -n "
                f"{ws.namespace}") in stderr, stderr
        assert ws.exists("deployment", "qotm")
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
