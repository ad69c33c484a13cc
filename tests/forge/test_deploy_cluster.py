"""forge end to end against a real Kubernetes API server, the real Docker engine and a real registry.

First the deploy scenarios of tests/forge/scenarios.py, the same table the unit tier runs on the fakes
(test_deploy_fakes.py), each in a fresh namespace with the `forge` console script, on the sample workspace whose
images the real engine builds (web from the offline Python base, api and its worker FROM scratch) and pushes to the
real `registry` fixture. Then what only the real thing shows: the workshop's own services (qotm, envoy-canary,
prometheus-canary) deployed together, a redeploy that leaves the engine and the registry untouched (their events
and digests), and Ctrl-C ending `forge dev`. kwok plays the kubelet: pods become Ready, or fail to pull / crash-loop
when their pod template carries the `shopbox.test/fail` annotation (tests/cluster/kwok.yaml).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors
import pytest
import requests
import yaml

from tests.forge import scenarios
from tests.forge.cli import FORGE, Ran, environment, forge
from tests.forge.conftest import SAMPLE, write_tree
from tests.platform.procs import LineWatcher, free_port

pytestmark = pytest.mark.cluster

SERVICE_DIRS = ("qotm", "envoy-canary", "prometheus-canary")
ROLLOUT = "180s"  # generous: kwok shares two cores with the builds of a whole team
GIVE_UP = "45s"  # a rollout that cannot succeed: forge explains it before this
NAMESPACE_DEFAULTS = {"ConfigMap/kube-root-ca.crt", "ServiceAccount/default"}  # made by the controller-manager
STATE_KINDS = "deployments,replicasets,services,configmaps,serviceaccounts,roles,rolebindings,secrets"
IMAGES = ("web", "api", "api-worker", "qotm", "auth")  # what these tests build, untagged at the end


@dataclass
class ClusterDriver(scenarios.Driver):
    """A workspace deploying into one fresh namespace of the local control plane."""

    root: Path
    namespace: str
    cluster: Any  # tests.cluster.launcher.KubeCluster
    registry: str
    docker_client: Any
    rollout: str = ROLLOUT
    give_up: str = GIVE_UP

    @property
    def context(self) -> str:
        return self.cluster.kubectl("config", "current-context").stdout.strip()

    def forge(self, *args: str, env: dict[str, str] | None = None) -> Ran:
        return forge(*args, cwd=self.root, env={"KUBECONFIG": str(self.cluster.kubeconfig), **(env or {})},
                     process=True)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        found = self.cluster.kubectl("get", kind, name, "-n", self.namespace, "--ignore-not-found", "-o", "json")
        return json.loads(found.stdout) if found.stdout.strip() else None

    def state(self) -> dict[str, tuple[str, str]]:
        items = self.cluster.kubectl_json("get", STATE_KINDS, "-n", self.namespace)["items"]
        return {f"{i['kind']}/{i['metadata']['name']}": (i["metadata"]["uid"], i["metadata"]["resourceVersion"])
                for i in items
                if i["kind"] != "ReplicaSet" and f"{i['kind']}/{i['metadata']['name']}" not in NAMESPACE_DEFAULTS}

    def create(self, obj: dict[str, Any]) -> None:
        self.cluster.kubectl("create", "-n", self.namespace, "-f", "-", input=json.dumps(obj))

    def label(self, kind: str, name: str, key: str, value: str) -> None:
        self.cluster.kubectl("label", kind, name, "-n", self.namespace, f"{key}={value}", "--overwrite")

    def in_registry(self, ref: str) -> bool:
        host, _, rest = ref.partition("/")
        repository, _, tag = rest.rpartition(":")
        resp = requests.get(f"http://{host}/v2/{repository}/tags/list", timeout=5)
        return resp.status_code == 200 and tag in (resp.json().get("tags") or [])

    def in_engine(self, ref: str) -> bool:
        try:
            self.docker_client.images.get(ref)
        except docker.errors.ImageNotFound:
            return False
        return True

    @contextmanager
    def advertised_registry(self) -> Iterator[str]:
        hosting = yaml.safe_dump({"host": self.registry, "help": "https://kind.sigs.k8s.io/docs/user/local-registry/"})
        configmap = {"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "local-registry-hosting", "namespace": "kube-public"},
                     "data": {"localRegistryHosting.v1": hosting}}
        self.cluster.kubectl("apply", "-f", "-", input=json.dumps(configmap))
        try:
            yield self.registry
        finally:
            self.cluster.kubectl("delete", "configmap", "local-registry-hosting", "-n", "kube-public", check=False)

    def break_build(self, image: str) -> None:
        self.edit(f"{image}/Dockerfile", "COPY app /app", "RUN echo broken step && exit 3\nCOPY app /app")

    def registry_down(self) -> str:
        host = f"127.0.0.1:{free_port()}"  # nothing listens there
        config = self.root / "forge.yaml"
        config.write_text(yaml.safe_dump({**yaml.safe_load(config.read_text()), "registry": host}))
        return host


@pytest.fixture(scope="module", autouse=True)
def remove_local_tags(docker_client: Any, registry: Any) -> Iterator[None]:
    """Untag, at the end, the images these tests built for this session's registry (it dies with the session), and
    the registry-less ones of the sample workspace."""
    yield
    ours = (*(f"{registry.host}/{name}:" for name in IMAGES), "web:")
    for image in docker_client.images.list():
        for tag in image.tags:
            if tag.startswith(ours):
                docker_client.images.remove(tag)


def _driver(root: Path, kube_cluster: Any, kube_namespace: str, registry: Any, base: str,
            docker_client: Any) -> ClusterDriver:
    config = {"registry": registry.host, "namespace": kube_namespace, "build_args": {"BASE_IMAGE": base}}
    (root / "forge.yaml").write_text(yaml.safe_dump(config))
    return ClusterDriver(root, kube_namespace, kube_cluster, registry.host, docker_client)


@pytest.fixture
def driver(tmp_path: Path, kube_cluster: Any, kube_namespace: str, registry: Any, python_base_image: str,
           docker_client: Any) -> ClusterDriver:
    """The sample workspace (tests/forge/conftest.py), its base image the offline Python base."""
    root = tmp_path / "ws"
    write_tree(root, SAMPLE)
    os.chmod(root / "api" / "server", 0o755)
    return _driver(root, kube_cluster, kube_namespace, registry, python_base_image, docker_client)


@pytest.mark.parametrize("scenario", scenarios.SCENARIOS)
def test_scenario(driver: ClusterDriver, scenario: str) -> None:
    scenarios.SCENARIOS[scenario](driver)


# ---- the workshop's own services --------------------------------------------------------------------------------


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


@pytest.fixture
def workshop(tmp_path: Path, services_copy: Path, kube_cluster: Any, kube_namespace: str, registry: Any,
             python_base_image: str, docker_client: Any) -> ClusterDriver:
    root = tmp_path / "ws"
    shutil.copytree(services_copy, root)
    return _driver(root, kube_cluster, kube_namespace, registry, python_base_image, docker_client)


def test_the_workshops_services_deploy_together(workshop: ClusterDriver, registry: Any) -> None:
    out = workshop.deploy()
    assert out[0] == workshop.target()

    expected = {name: workshop.forge("render", name, "-n", workshop.namespace).ok().stdout
                for name in ("qotm", "envoy-canary", "prometheus-canary")}
    versions = {}
    for docs in expected.values():
        for doc in (d for d in yaml.safe_load_all(docs) if d):
            live = workshop.object(doc["kind"], doc["metadata"]["name"])
            labels = live["metadata"]["labels"]
            assert {k: labels.get(k) for k in scenarios.LABELS} == {k: doc["metadata"]["labels"][k]
                                                                    for k in scenarios.LABELS}
            versions[labels["app.kubernetes.io/instance"]] = labels["app.kubernetes.io/version"]
            if doc["kind"] == "Deployment":
                assert live["status"].get("readyReplicas") == live["spec"]["replicas"]
    assert set(versions) == {"qotm", "auth", "envoy", "prometheus"}
    for name in ("qotm", "auth"):  # the two services with a Dockerfile: built and pushed for real
        assert versions[name] in registry.tags(name)
        assert scenarios.image_of(workshop.object("Deployment", name)) == f"{registry.host}/{name}:{versions[name]}"

    assert {(r["service"], r["profile"], r["name"], r["version"], r["ready"]) for r in workshop.listed()} == {
        (name, "default", name, versions[name], True) for name in versions}
    node_port = next(p["nodePort"] for p in workshop.object("Service", "envoy")["spec"]["ports"]
                     if p["name"] == "http")
    assert workshop.forge("url", "envoy").ok().stdout == f"http://127.0.0.1:{node_port}\n"  # the kwok node
    headless = workshop.forge("url", "qotm").ok()
    assert headless.stdout == "http://127.0.0.1:8080\n"
    assert f"-n {workshop.namespace} port-forward service/qotm 8080:8080" in headless.stderr
    assert f"envoy: reach Service/envoy at http://127.0.0.1:{node_port}" in out


# ---- nothing changed: the engine and the registry are not touched ---------------------------------------------


def registry_digest(registry: Any, ref: str) -> str:
    repository, tag = ref.removeprefix(registry.host + "/").rsplit(":", 1)
    resp = requests.head(f"{registry.url}/v2/{repository}/manifests/{tag}", timeout=10, headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"})
    assert resp.status_code == 200, f"{ref} is not in the registry"
    return resp.headers["Docker-Content-Digest"]


def test_redeploy_with_nothing_changed_tags_pushes_and_rolls_nothing(workshop: ClusterDriver, docker_client: Any,
                                                                    registry: Any) -> None:
    workshop.deploy("qotm")
    dep = workshop.object("Deployment", "qotm")
    ref = scenarios.image_of(dep)
    replicasets = {rs["metadata"]["uid"] for rs in workshop.cluster.kubectl_json(
        "get", "replicasets", "-n", workshop.namespace)["items"]}
    digest = registry_digest(registry, ref)
    since = time.time() - 1

    out = workshop.deploy("qotm")

    until = time.time() + 1
    events = [e for e in docker_client.events(since=since, until=until, decode=True, filters={"type": "image"})
              if ref in (e.get("id"), (e.get("Actor") or {}).get("Attributes", {}).get("name"))]
    assert [e["Action"] for e in events if e["Action"] in ("tag", "push", "build")] == []
    assert registry_digest(registry, ref) == digest
    assert {rs["metadata"]["uid"] for rs in workshop.cluster.kubectl_json(
        "get", "replicasets", "-n", workshop.namespace)["items"]} == replicasets
    assert workshop.object("Deployment", "qotm")["metadata"]["generation"] == dep["metadata"]["generation"]
    assert "  Deployment/qotm unchanged" in out


# ---- forge dev: Ctrl-C ------------------------------------------------------------------------------------------


def test_dev_on_ctrl_c_exits_0_and_leaves_the_deployment(workshop: ClusterDriver) -> None:
    """`forge dev qotm`: deploy, watch; a one-line edit of qotm.py -> a new version rolled out; Ctrl-C -> exit 0,
    the deployment stays, forge says how to delete it. Prints the edit-to-Ready time."""
    env = environment({"KUBECONFIG": str(workshop.cluster.kubeconfig)})
    process = subprocess.Popen([FORGE, "dev", "qotm", "--timeout", ROLLOUT, "--interval", "0.5"], cwd=workshop.root,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output = LineWatcher(process)

    def wait_for(prefix: str, timeout: float) -> str:
        try:
            return output.wait_for(prefix, timeout)
        except AssertionError as err:
            raise AssertionError(f"{err}\n{process.stderr.read() if process.poll() is not None else ''}") from None

    try:
        wait_for("dev: watching", 900)
        first = workshop.object("Deployment", "qotm")
        edited = time.monotonic()
        workshop.edit("qotm/qotm.py", '    """The quote handler."""\n',
                      '    """The quote handler."""\n    log.debug("dev loop")\n')
        ready = wait_for("dev: qotm ready", 300)
        seconds = time.monotonic() - edited
        wait_for("dev: watching", 60)
        second = workshop.object("Deployment", "qotm")
        assert scenarios.version_of(second) != scenarios.version_of(first)
        assert ready.endswith("after the change")
        print(f"\nforge dev: one-file change of qotm.py -> new version Ready in {seconds:.1f} s "
              f"(forge: {ready}); kwok: no image pull, no container start")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        stderr = process.stderr.read()
        assert (f"left qotm deployed in namespace {workshop.namespace}; remove it with: forge delete qotm -n "
                f"{workshop.namespace}") in stderr, stderr
        assert workshop.exists("Deployment", "qotm")
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
