"""Issue 24's deploy scenarios, written once and run by two drivers: in-memory fakes (unit tier) and a real API
server (cluster tier). Profile copies side by side (from --profile and from a branch), deleted one at a time;
several targets in one deploy; service.yaml rendered from the environment; K8S_NAMESPACE; a root service with a
nested requirement; `cd ~ && forge deploy`; bad input that applies nothing. The services build no image (the
fake API server and kwok run any image reference), so no Docker engine or registry is needed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from forge.context import Backends
from forge.errors import ForgeError
from forge.verbs.delete import DeleteRequest, delete
from forge.verbs.deploy import DeployRequest, deploy
from forge.verbs.list import ListRequest, list_deployed
from tests.forge.conftest import SAMPLE, write_tree
from tests.forge.fakes import FakeAPIServer, FakeEngine, backends, recording

# The sample web service's Deployment and Service (selecting on `app: <build name>`), with an image no one builds.
APP = (SAMPLE["web/k8s/deployment.yaml"]
       .replace('{{ build.images["Dockerfile"] }}', "registry.invalid/{{ service.name }}:1")
       .replace("{{ service.port }}", "8080"))

WEB = """\
name: web
containers: []
replicas: {{ env.WEB_REPLICAS | default(1) }}
profiles:
  canary: {weight: 10}
branches:
  main: default
  "*": "{{ (branch or 'dev') | replace('/', '-') | lower }}"
"""
TIMEOUT = 120.0
FORGE = "app.kubernetes.io/managed-by=forge"


@dataclass
class Driver:
    """A workspace (the current directory) deploying into `namespace` through `backends`."""

    root: Path
    namespace: str
    backends: Backends
    state: Callable[[], dict[str, tuple[str, str]]]  # forge's objects: `Kind/name` -> (uid, resourceVersion)
    get: Callable[[str, str], dict[str, Any]]  # (kind, name) -> the object
    env: dict[str, str] = field(default_factory=lambda: {"FORGE_BRANCH": "main"})

    def deploy(self, *targets: str, profile: str | None = None, **env: str) -> list[str]:
        """`forge deploy TARGET...`: what it printed."""
        run = recording(self.backends, env={**self.env, **env})
        first, *more = targets or (".",)
        deploy(DeployRequest(path=first, more=tuple(more), profile=profile, timeout=TIMEOUT), run.ctx)
        return run.stdout.lines

    def fails(self, *targets: str, profile: str | None = None, **env: str) -> str:
        with pytest.raises(ForgeError) as caught:
            self.deploy(*targets, profile=profile, **env)
        return str(caught.value)

    def delete(self, *services: str, profile: str | None = None) -> None:
        delete(DeleteRequest(services, profile), recording(self.backends, env={}).ctx)

    def listed(self) -> set[tuple[str, str, str, bool]]:
        run = recording(self.backends, json_output=True, env={})
        list_deployed(ListRequest(), run.ctx)
        return {(r["service"], r["profile"], r["name"], r["ready"]) for r in json.loads(run.stdout.lines[0])}


def fake_driver(root: Path) -> Driver:
    namespace = "shop"
    api = FakeAPIServer(namespaces=(namespace,))

    def state() -> dict[str, tuple[str, str]]:
        prefix = f"/namespaces/{namespace}/"
        return {f"{o['kind']}/{o['metadata']['name']}": (o["metadata"]["uid"], o["metadata"]["resourceVersion"])
                for path, o in api.objects.items() if prefix in path
                and (o["metadata"].get("labels") or {}).get("app.kubernetes.io/managed-by") == "forge"
                and o["kind"] not in ("Pod", "ReplicaSet")}

    def get(kind: str, name: str) -> dict[str, Any]:
        found = api.named(kind, name, namespace)
        assert found is not None, f"{kind}/{name}"
        return found

    return Driver(root, namespace, backends(api, FakeEngine(None)), state, get)


def cluster_driver(root: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Driver:
    kube = request.getfixturevalue("kube_cluster")
    namespace = request.getfixturevalue("kube_namespace")
    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))

    def state() -> dict[str, tuple[str, str]]:
        items = kube.kubectl_json("get", "deployments,services,configmaps", "-n", namespace, "-l", FORGE)["items"]
        return {f"{i['kind']}/{i['metadata']['name']}": (i["metadata"]["uid"], i["metadata"]["resourceVersion"])
                for i in items}

    def get(kind: str, name: str) -> dict[str, Any]:
        return kube.kubectl_json("get", kind.lower(), name, "-n", namespace)

    return Driver(root, namespace, Backends(), state, get)


@pytest.fixture(params=[pytest.param("fake", marks=pytest.mark.unit),
                        pytest.param("cluster", marks=pytest.mark.cluster)])
def ws(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> Driver:
    root = tmp_path / "ws"
    write_tree(root, {"web/service.yaml": WEB, "web/k8s/app.yaml": APP})
    monkeypatch.chdir(root)
    driver = fake_driver(root) if request.param == "fake" else cluster_driver(root, request, monkeypatch)
    (root / "forge.yaml").write_text(f"namespace: {driver.namespace}\n")
    return driver


def copy_of(name: str) -> set[str]:
    return {f"Deployment/{name}", f"Service/{name}", f"ConfigMap/forge-inventory-{name}"}


def test_two_profiles_side_by_side_deleted_one_at_a_time(ws: Driver) -> None:
    ws.deploy("web")
    ws.deploy("web", profile="alice")
    ws.deploy("web", FORGE_BRANCH="feature/Login")  # a copy from the branch, named by the templated map
    assert set(ws.state()) == copy_of("web") | copy_of("web-alice") | copy_of("web-feature-login")
    for name, profile in (("web", "default"), ("web-alice", "alice"), ("web-feature-login", "feature-login")):
        labels = ws.get("Deployment", name)["metadata"]["labels"]
        assert (labels["app.kubernetes.io/instance"], labels["forge.shopbox.io/profile"]) == (name, profile)
        assert ws.get("Service", name)["spec"]["selector"] == {"app": name}  # each copy's Service: its own pods
    assert ws.listed() == {("web", "default", "web", True), ("web", "alice", "web-alice", True),
                           ("web", "feature-login", "web-feature-login", True)}

    before = ws.state()
    ws.delete("web", profile="alice")
    after = ws.state()
    assert set(after) == copy_of("web") | copy_of("web-feature-login")
    assert all(after[key] == before[key] for key in after)  # the others untouched, not even updated
    ws.delete("web", profile="feature-login")
    assert set(ws.state()) == copy_of("web")
    ws.delete("web")
    assert ws.state() == {}


def test_several_targets_in_one_deploy_one_wait(ws: Driver) -> None:
    write_tree(ws.root, {"api/service.yaml": "name: api\ncontainers: []\nreplicas: 1\n", "api/k8s/app.yaml": APP})
    said = ws.deploy("web", "api", profile="alice")
    waits = [line for line in said if line.startswith("waiting up to")]
    assert waits == [f"waiting up to {TIMEOUT:g} s for Deployment/web-alice, Deployment/api-alice to roll out"]
    assert set(ws.state()) == copy_of("web-alice") | copy_of("api-alice")
    ws.delete("web", "api", profile="alice")
    assert ws.state() == {}


def test_delete_of_several_deletes_nothing_when_one_is_missing(ws: Driver) -> None:
    ws.deploy("web")
    before = ws.state()
    with pytest.raises(ForgeError, match=r"^api: forge has not deployed it in namespace "):
        ws.delete("web", "api")
    assert ws.state() == before


def test_templated_service_yaml_and_k8s_namespace(ws: Driver) -> None:
    """forge.yaml names no namespace: K8S_NAMESPACE does; the replica count comes from the environment."""
    (ws.root / "forge.yaml").write_text("{}\n")
    ws.deploy("web", K8S_NAMESPACE=ws.namespace, WEB_REPLICAS="3")
    deployed = ws.get("Deployment", "web")
    assert deployed["spec"]["replicas"] == 3 and deployed["status"].get("readyReplicas") == 3


def test_root_service_deploys_the_services_nested_in_it(ws: Driver) -> None:
    """The workspace root is a service that requires a nested one (by a single name): both are deployed, the
    required one first."""
    write_tree(ws.root, {"service.yaml": "name: shop\ncontainers: []\nreplicas: 1\nrequires: cart\n",
                         "k8s/app.yaml": APP,
                         "parts/cart/service.yaml": "name: cart\ncontainers: []\nreplicas: 1\n",
                         "parts/cart/k8s/app.yaml": APP})
    said = ws.deploy("service.yaml")
    assert [line.split(":")[0] for line in said if ": applying " in line] == ["cart", "shop"]
    assert set(ws.state()) == copy_of("shop") | copy_of("cart")


@pytest.mark.parametrize(
    ("files", "profile", "env", "message"),
    [
        ({}, None, {"FORGE_PROFILE": "alcie"}, "web/service.yaml: profile 'alcie' is not defined (profiles: canary, "
         "default) (to deploy a separate copy named web-alcie, pass --profile alcie)"),
        ({}, "Alice", {}, "profile 'Alice' is not a DNS label (lowercase letters, digits and '-', at most 63 "
         "characters): a copy is named <service>-<profile>"),
        ({"web/service.yaml": WEB.replace('main: default\n  "*"', 'main: default\n  "release /*"')}, None, {},
         "web/service.yaml: branches.release /*: the glob matches no branch: git branch names cannot have a space "
         "or control character"),
        ({"web/service.yaml": "name: web\ncontainers: []\nreplicas: 1\nbranches: [main]\n"}, None, {},
         "web/service.yaml: branches: expected a mapping"),
        ({"web/service.yaml": WEB.replace("| lower ", "")}, None, {"FORGE_BRANCH": "Feature/x"},
         "web/service.yaml: branches.*: 'Feature-x' is not a valid profile name (a DNS label: lowercase letters, "
         "digits and '-', at most 63 characters)"),
        ({"web/service.yaml": WEB.replace("env.WEB_REPLICAS | default(1)", "env.WEB_REPLICAS")}, None, {},
         "web/service.yaml:3: env.WEB_REPLICAS is not set (for an optional variable write "
         "{{ env.WEB_REPLICAS | default(...) }})"),
        ({}, None, {"K8S_NAMESPACE": "Shop"}, "K8S_NAMESPACE=Shop: not a DNS label (lowercase letters, digits and "
         "'-', at most 63 characters, starting and ending with a letter or digit)"),
        ({}, None, {"CANARY": "ture"}, "CANARY=ture: expected true, 1, yes or on (canary) or false, 0, no or off "
         "(not)"),
    ],
    ids=["profile-typo-from-env", "profile-not-a-dns-label", "glob-matching-nothing", "branches-not-a-mapping",
         "branch-profile-not-a-dns-label", "unset-variable", "bad-k8s-namespace", "canary-typo"],
)
def test_bad_input_applies_nothing(ws: Driver, files: dict[str, str], profile: str | None, env: dict[str, str],
                                   message: str) -> None:
    write_tree(ws.root, files)
    assert ws.fails("web", profile=profile, **env) == message
    assert ws.state() == {}


def test_above_the_workspace_nothing_is_deployed(ws: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
    """`cd ~ && forge deploy` with the workspace below (a git checkout): refused, listing it, nothing applied."""
    write_tree(ws.root, {".git/HEAD": "ref: refs/heads/main\n"})
    monkeypatch.chdir(ws.root.parent)
    assert ws.fails(".", K8S_NAMESPACE=ws.namespace) == (
        ".: no service.yaml in this workspace; below it are other workspaces, each with its own settings: ws "
        "(forge.yaml) (run forge inside one of them, e.g. cd ws)")
    assert ws.state() == {}
