"""`forge setup` through the run context's backends, on the in-memory fakes (tests/forge/fakes.py): what it checks,
what it asks, what it writes and labels, and that nothing is written or labelled when a check fails. The docker
tier runs it against the real engine and registry (test_setup.py), the cluster tier labels a real namespace
(test_pod_security.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from forge.errors import ForgeError, UsageError
from forge.verbs.setup import CHECK_IMAGE, CHECK_TAG, SetupRequest, setup
from tests.forge.fakes import FakeAPIServer, FakeEngine, FakeRegistry, Recording, backends, recording

pytestmark = pytest.mark.unit

HOST = "localhost:5001"
CHECK_REF = f"{HOST}/{CHECK_IMAGE}:{CHECK_TAG}"
ENFORCING = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
             "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "latest"}


@pytest.fixture
def api() -> FakeAPIServer:
    return FakeAPIServer(namespaces=("default", "shop"))


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine(FakeRegistry(HOST))


@pytest.fixture
def kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kubeconfig file exists (the fake cluster is what `connect` returns)."""
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\n")
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


def run_setup(api: FakeAPIServer, engine: FakeEngine, directory: Path, **request: Any) -> Recording:
    run = recording(backends(api, engine))
    setup(SetupRequest(directory, **request), run.ctx)
    return run


def namespace_labels(api: FakeAPIServer, name: str) -> dict[str, str]:
    return api.objects[f"/api/v1/namespaces/{name}"]["metadata"].get("labels") or {}


def test_checks_push_label_and_write(tmp_path: Path, api: FakeAPIServer, engine: FakeEngine, kubeconfig: Path) -> None:
    run = run_setup(api, engine, tmp_path, registry=HOST, namespace="shop", concurrency=3)

    assert yaml.safe_load((tmp_path / "forge.yaml").read_text()) == {"registry": HOST, "concurrency": 3,
                                                                      "namespace": "shop"}
    assert (engine.built, engine.pushed, engine.untagged) == ([CHECK_REF], [CHECK_REF], [CHECK_REF])
    assert namespace_labels(api, "shop") == ENFORCING
    assert run.stdout.lines == [
        "docker: engine 20.10.24 answers; builds linux/amd64 images with the fake builder",
        "cluster: context fake at https://fake.invalid:6443 answers (Kubernetes 1.36.1)",
        f"registry: {HOST} accepted a push of {CHECK_IMAGE}:{CHECK_TAG}",
        "namespace shop: labelled, enforcing Pod Security restricted",
        f"wrote {tmp_path / 'forge.yaml'}: registry: {HOST}, namespace: shop, concurrency: 3",
    ]


def test_a_missing_namespace_is_created_and_warn_mode_only_warns(tmp_path: Path, api: FakeAPIServer,
                                                                 engine: FakeEngine, kubeconfig: Path) -> None:
    run = run_setup(api, engine, tmp_path, registry=HOST, namespace="team", pod_security="warn")
    assert namespace_labels(api, "team") == {k: v for k, v in ENFORCING.items() if "/warn" in k}
    assert "namespace team: created, warning about Pod Security restricted" in run.stdout.lines
    run = run_setup(api, engine, tmp_path, registry=HOST, namespace="team", pod_security="warn")
    assert "namespace team: warning about Pod Security restricted" in run.stdout.lines
    assert [call for call in api.calls if call[0] != "create"] == []  # the second run changed nothing


def test_a_user_who_may_not_label_namespaces_is_told_not_stopped(tmp_path: Path, api: FakeAPIServer,
                                                                 engine: FakeEngine, kubeconfig: Path) -> None:
    api.forbidden.add("/api/v1/namespaces/shop")
    run = run_setup(api, engine, tmp_path, registry=HOST, namespace="shop")
    assert ("namespace shop: not labelled for Pod Security (forbidden for this user); ask an admin to label it "
            "pod-security.kubernetes.io/enforce=restricted") in run.stdout.lines
    assert (tmp_path / "forge.yaml").exists()


def test_the_clusters_advertised_registry_and_the_current_settings_fill_in(tmp_path: Path, api: FakeAPIServer,
                                                                          engine: FakeEngine,
                                                                          kubeconfig: Path) -> None:
    api.local_registry = HOST
    (tmp_path / "forge.yaml").write_text("concurrency: 2\nbuild_args: {BASE_IMAGE: base:1}\n")
    run = run_setup(api, engine, tmp_path, pod_security="off")
    assert yaml.safe_load((tmp_path / "forge.yaml").read_text()) == {
        "concurrency": 2, "build_args": {"BASE_IMAGE": "base:1"}, "registry": HOST}
    assert f"cluster: context fake at https://fake.invalid:6443 answers (Kubernetes 1.36.1); it advertises the " \
           f"local registry {HOST}" in run.stdout.lines
    assert namespace_labels(api, "default") == {}  # --pod-security off


def test_values_not_given_are_asked(tmp_path: Path, api: FakeAPIServer, engine: FakeEngine, kubeconfig: Path) -> None:
    asked: list[tuple[str, Any]] = []
    answers = {"Registry (host[:port][/path])": HOST, "Default namespace (empty: the context's)": "",
               "Parallel builds": 8}

    def ask(prompt: str, default: Any, kind: Any) -> Any:
        asked.append((prompt, default))
        return answers[prompt]

    run_setup(api, engine, tmp_path, ask=ask, pod_security="off")
    assert [prompt for prompt, _ in asked] == list(answers)
    assert yaml.safe_load((tmp_path / "forge.yaml").read_text()) == {"registry": HOST, "concurrency": 8}


def test_without_a_kubeconfig_the_cluster_is_not_checked(tmp_path: Path, api: FakeAPIServer, engine: FakeEngine,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    run = run_setup(api, engine, tmp_path, registry=HOST)
    assert f"cluster: no kubeconfig at {tmp_path / 'none'} (not checked; forge deploy will need one)" in \
        run.stdout.lines
    assert api.calls == [] and (tmp_path / "forge.yaml").exists()


@pytest.mark.parametrize(("problem", "request_", "error", "kind"), [
    ("none", {}, "no registry (pass --registry HOST[:PORT][/PATH], e.g. --registry localhost:5001)", UsageError),
    ("none", {"registry": "Local Host"}, "--registry: 'Local Host' is not ", UsageError),
    ("none", {"registry": HOST, "namespace": "Shop"}, "--namespace: 'Shop' is not a DNS label", UsageError),
    ("registry down", {"registry": HOST}, f"registry {HOST} is unreachable: connection refused", ForgeError),
    ("build fails", {"registry": HOST}, f"build of {CHECK_REF} failed: no space left on device", ForgeError),
], ids=["no-registry", "bad-registry", "bad-namespace", "registry-down", "build-fails"])
def test_a_failed_check_writes_and_labels_nothing(tmp_path: Path, api: FakeAPIServer, engine: FakeEngine,
                                                  kubeconfig: Path, problem: str, request_: dict[str, Any], error: str,
                                                  kind: type[ForgeError]) -> None:
    if problem == "registry down":
        engine.registry.up = False  # type: ignore[union-attr]
    if problem == "build fails":
        engine.broken[CHECK_IMAGE] = "no space left on device"
    with pytest.raises(kind) as caught:
        run_setup(api, engine, tmp_path, **request_)
    assert str(caught.value).startswith(error)
    assert list(tmp_path.iterdir()) == [kubeconfig] and api.calls == []


def test_a_classroom_seat_gives_its_registry_and_namespace_no_node_ports_and_its_pull_secret(
        tmp_path: Path, engine: FakeEngine, kubeconfig: Path) -> None:
    """The fast twin of tests/classroom/test_seat_forge.py (a real seat, its own token): the seat's values win over a
    forge.yaml left from another cluster, and the namespace (its labels are the class's) is not touched."""
    api = FakeAPIServer(namespaces=("room-ana",))
    base = "/api/v1/namespaces/room-ana"
    api.put(f"{base}/configmaps/shopbox-seat", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "shopbox-seat"}, "data": {"class": "room", "seat": "ana", "registry": HOST}})
    api.put(f"{base}/resourcequotas/seat", {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "seat"},
                                            "spec": {"hard": {"pods": "20", "services.nodeports": "0"}}})
    api.put(f"{base}/serviceaccounts/default", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
        "name": "default"}, "imagePullSecrets": [{"name": "registry-pull"}]})
    (tmp_path / "forge.yaml").write_text("registry: localhost:5999\nnamespace: default\nnode_ports: true\n")
    seat = dataclasses.replace(backends(api, engine), connect=lambda **_: api.connect(namespace="room-ana"))
    run = recording(seat)
    setup(SetupRequest(tmp_path), run.ctx)

    assert yaml.safe_load((tmp_path / "forge.yaml").read_text()) == {
        "registry": HOST, "namespace": "room-ana", "concurrency": 4, "node_ports": False,
        "image_pull_secrets": ["registry-pull"]}
    assert "seat: namespace room-ana is seat ana of class room; its registry is localhost:5001" in run.stdout.lines
    assert ("namespace room-ana: enforcing Pod Security restricted (set by the class: a seat does not change its "
            "namespace)") in run.stdout.lines
    assert not [path for _, path in api.calls if path.endswith("/namespaces/room-ana")]  # labels: not even tried
    assert run.stdout.lines[-1] == (f"wrote {tmp_path / 'forge.yaml'}: registry: {HOST}, namespace: room-ana, "
                                    "concurrency: 4, node_ports: false, image_pull_secrets: registry-pull")


def test_outside_a_seat_the_namespace_facts_are_still_read_and_an_ordinary_namespace_writes_neither_key(
        tmp_path: Path, api: FakeAPIServer, engine: FakeEngine, kubeconfig: Path) -> None:
    (tmp_path / "forge.yaml").write_text("registry: localhost:5001\nnode_ports: false\nimage_pull_secrets: [old]\n")
    run_setup(api, engine, tmp_path)
    assert yaml.safe_load((tmp_path / "forge.yaml").read_text()) == {"registry": HOST, "concurrency": 4}
