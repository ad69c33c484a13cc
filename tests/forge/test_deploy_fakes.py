"""deploy, apply, prune, promote, abort, delete and the rollout waiter through the seams, with in-memory fakes
(tests/forge/fakes.py): the fast twin of each behaviour tests/forge/test_deploy_cluster.py checks against a real API
server, the real Docker engine and a real registry. Each test names its cluster-tier twin."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from forge.context import Backends, Target
from forge.errors import ForgeError
from forge.verbs.canary_abort import AbortRequest, abort
from forge.verbs.canary_promote import PromoteRequest, promote
from forge.verbs.delete import delete
from forge.verbs.deploy import DeployRequest, deploy
from forge.verbs.deployment import DeploymentRequest
from forge.verbs.dev import DevLoop
from forge.verbs.list import ListRequest, list_deployed
from forge.verbs.url import url
from tests.forge.fakes import FakeAPIServer, FakeEngine, FakeRegistry, Recording, backends, recording

pytestmark = pytest.mark.unit

NS = "shop"  # the sample workspace's forge.yaml namespace
LABELS = ("app.kubernetes.io/managed-by", "app.kubernetes.io/name", "app.kubernetes.io/instance",
          "app.kubernetes.io/version", "forge.shopbox.io/profile")


@dataclass
class World:
    """The sample workspace, a fake cluster, a fake engine and registry, and what forge said."""

    root: Path
    api: FakeAPIServer
    engine: FakeEngine
    backends: Backends
    said: list[str] = field(default_factory=list)

    def run(self, namespace: str | None = None) -> Recording:
        """A run context on the fakes (the environment: CANARY, FORGE_PROFILE, none), recording what is printed."""
        return recording(self.backends, target=Target(namespace=namespace), env={})

    def deploy(self, path: str = ".", *, canary: bool = False, dry_run: bool = False, timeout: float = 5,
               namespace: str | None = None) -> list[str]:
        """`forge deploy PATH`; the lines it printed on stdout (also when it failed: `self.said`)."""
        run = self.run(namespace)
        self.said = run.stdout.lines
        deploy(DeployRequest(path=self.root / path, canary=canary, dry_run=dry_run, timeout=timeout), run.ctx)
        return self.said

    def fails(self, path: str = ".", **options: Any) -> str:
        """`forge deploy PATH`, which must fail: its one-line error."""
        with pytest.raises(ForgeError) as caught:
            self.deploy(path, **options)
        return str(caught.value)

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text()
        assert old in text, f"{relative} no longer contains {old!r}"
        path.write_text(text.replace(old, new, 1))

    def object(self, kind: str, name: str) -> dict[str, Any]:
        found = self.api.named(kind, name, NS)
        assert found is not None, f"{kind}/{name} does not exist"
        return found

    def exists(self, kind: str, name: str) -> bool:
        return self.api.named(kind, name, NS) is not None

    def state(self) -> dict[str, tuple[str, str]]:
        return self.api.state(NS)

    def listed(self) -> list[dict[str, Any]]:
        run = recording(self.backends, json_output=True)
        list_deployed(ListRequest(), run.ctx)
        return json.loads(run.stdout.lines[0])


@pytest.fixture
def world(sample_workspace: Path) -> World:
    api = FakeAPIServer(namespaces=(NS,))
    engine = FakeEngine(FakeRegistry("localhost:5001"))
    return World(sample_workspace, api, engine, backends(api, engine))


def image_of(dep: dict[str, Any]) -> str:
    return dep["spec"]["template"]["spec"]["containers"][0]["image"]


def version_of(obj: dict[str, Any]) -> str:
    return obj["metadata"]["labels"]["app.kubernetes.io/version"]


def fail_pods(world: World, mode: str) -> None:
    """The pod template annotation of tests/cluster/kwok.yaml, which the fake API server honours too."""
    world.edit("web/k8s/deployment.yaml", "    metadata:\n      labels:\n",
               f"    metadata:\n      annotations:\n        shopbox.test/fail: {mode}\n      labels:\n")


# ---- 1. deploy everything (test_deploy_everything) ------------------------------------------------------------


def test_dry_run_applies_and_builds_nothing(world: World):
    said = world.deploy(dry_run=True)
    assert said[0] == f"context: fake  namespace: {NS}"
    assert "  Deployment/web would be created" in said
    assert said[-1] == "dry run: nothing was built, pushed or applied"
    assert world.state() == {} and world.api.calls == []
    assert world.engine.built == [] and world.engine.pushed == []


def test_deploy_everything(world: World):
    said = world.deploy()
    assert said[0] == f"context: fake  namespace: {NS}"
    assert world.state().keys() == {
        "Deployment/web", "Service/web", "ConfigMap/web-conf", "Deployment/api", "ConfigMap/db",
        "ConfigMap/forge-inventory-web", "ConfigMap/forge-inventory-api", "ConfigMap/forge-inventory-db"}
    assert said.index("db: applying 1 objects (version " + version_of(world.object("ConfigMap", "db")) + ")") < \
        said.index("api: applying 1 objects (version " + version_of(world.object("Deployment", "api")) + ")")

    web = world.object("Deployment", "web")
    labels = web["metadata"]["labels"]
    assert (labels["app.kubernetes.io/managed-by"], labels["app.kubernetes.io/instance"]) == ("forge", "web")
    template_labels = web["spec"]["template"]["metadata"]["labels"]
    assert {k: template_labels[k] for k in LABELS} == {k: labels[k] for k in LABELS}
    assert web["status"]["readyReplicas"] == web["spec"]["replicas"] == 2
    assert image_of(web) == f"localhost:5001/web:{version_of(web)}"

    refs = {image_of(world.object("Deployment", "web")), image_of(world.object("Deployment", "api"))}
    assert refs <= set(world.engine.built) and refs <= world.engine.registry.images
    assert sorted(world.engine.built) == sorted(world.engine.pushed) and len(world.engine.built) == 3
    assert "  web rolled out" not in said and "  Deployment/web rolled out (2 of 2 replicas available)" in said

    assert {(r["service"], r["profile"], r["name"], r["ready"]) for r in world.listed()} == {
        ("web", "default", "web", True), ("api", "default", "api", True), ("db", "default", "db", True)}


def test_url_of_a_node_port_and_of_a_cluster_ip_service(world: World):
    world.deploy("web")
    run = recording(world.backends, env={}, product=True)
    url(DeploymentRequest("web"), run.ctx)
    assert run.stdout.lines == ["http://127.0.0.1:8080"]
    assert run.stderr.lines == ["web is not exposed outside the cluster; first run: "
                                f"kubectl --context fake -n {NS} port-forward service/web 8080:8080"]

    world.edit("web/k8s/deployment.yaml", "  ports:\n", "  type: NodePort\n  ports:\n")
    said = world.deploy("web")
    node_port = world.object("Service", "web")["spec"]["ports"][0]["nodePort"]
    assert f"web: reach Service/web at http://127.0.0.1:{node_port}" in said
    run = recording(world.backends, env={}, product=True)
    url(DeploymentRequest("web"), run.ctx)
    assert run.stdout.lines == [f"http://127.0.0.1:{node_port}"] and run.stderr.lines == []


# ---- 2. nothing changed (test_redeploy_with_nothing_changed_builds_pushes_and_rolls_nothing) --------------------


def test_redeploy_with_nothing_changed_builds_pushes_and_rolls_nothing(world: World):
    world.deploy("web")
    before = world.object("Deployment", "web")
    replicasets = {p for p, o in world.api.objects.items() if o["kind"] == "ReplicaSet"}
    built, pushed = list(world.engine.built), list(world.engine.pushed)

    said = world.deploy("web")

    assert (world.engine.built, world.engine.pushed) == (built, pushed)
    assert "  Deployment/web unchanged" in said
    assert {p for p, o in world.api.objects.items() if o["kind"] == "ReplicaSet"} == replicasets
    assert world.object("Deployment", "web")["metadata"]["generation"] == before["metadata"]["generation"]


# ---- 3 + 4. canary beside stable, promote, abort (test_canary_beside_stable_then_promote, ...abort...) -----------


def deploy_stable_and_canary(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    world.deploy("web")
    stable = world.object("Deployment", "web")
    world.edit("web/app/main.py", "print('hello')", "print('hello, slowly')")
    world.deploy("web", canary=True)
    return stable, world.object("Deployment", "web-canary")


def test_canary_beside_stable_then_promote(world: World):
    stable, canary = deploy_stable_and_canary(world)
    assert canary["metadata"]["labels"]["forge.shopbox.io/profile"] == "canary"
    assert version_of(canary) != version_of(stable) and image_of(canary) != image_of(stable)
    unchanged = world.object("Deployment", "web")
    assert (unchanged["metadata"]["generation"], image_of(unchanged)) == (stable["metadata"]["generation"],
                                                                         image_of(stable))
    run = world.run()
    promote(PromoteRequest("web", world.root, timeout=5), run.ctx)

    said = run.stdout.lines
    assert f"promoting web-canary (version {version_of(canary)}) to web (profile default)" in said
    promoted = world.object("Deployment", "web")
    assert promoted["metadata"]["uid"] == stable["metadata"]["uid"]
    assert (image_of(promoted), version_of(promoted)) == (image_of(canary), version_of(canary))
    assert promoted["status"]["readyReplicas"] == promoted["spec"]["replicas"] == 2  # the stable profile's size
    for kind, name in (("Deployment", "web-canary"), ("Service", "web-canary"),
                       ("ConfigMap", "forge-inventory-web-canary")):
        assert not world.exists(kind, name)
    assert [(r["name"], r["version"]) for r in world.listed()] == [("web", version_of(canary))]


def test_promote_without_a_canary_changes_nothing(world: World):
    world.deploy("web")
    before = world.state()
    with pytest.raises(ForgeError, match=rf"^web: no canary deployment in namespace {NS} \(context fake\)"):
        promote(PromoteRequest("web", world.root, timeout=5), world.run().ctx)
    assert world.state() == before


def test_canary_abort_removes_only_the_canary(world: World):
    deploy_stable_and_canary(world)
    before = {k: v for k, v in world.state().items() if "canary" not in k}
    run = world.run()

    abort(AbortRequest("web"), run.ctx)

    assert "  deleted Deployment/web-canary" in run.stdout.lines and "  deleted Service/web-canary" in run.stdout.lines
    assert world.state() == before
    with pytest.raises(ForgeError, match=rf"^web: no canary deployment in namespace {NS} "):
        abort(AbortRequest("web"), run.ctx)


# ---- 5. prune (test_removed_template_is_pruned_and_nothing_else) -------------------------------------------------


def test_removed_template_is_pruned_and_nothing_else(world: World):
    world.deploy()
    world.deploy("web", canary=True)
    world.api.put(f"/api/v1/namespaces/{NS}/configmaps/by-hand",
                  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "by-hand", "namespace": NS}})
    before = world.state()

    (world.root / "web" / "k8s" / "configmap.yaml").unlink()
    said = world.deploy("web")

    assert "  deleted ConfigMap/web-conf" in said
    after = world.state()
    assert set(before) - set(after) == {"ConfigMap/web-conf"}
    assert {k for k in after if before[k] != after[k]} <= {"ConfigMap/forge-inventory-web"}


def test_dry_run_says_what_would_be_pruned(world: World):
    world.deploy("web")
    (world.root / "web" / "k8s" / "configmap.yaml").unlink()
    assert "  ConfigMap/web-conf would be pruned" in world.deploy("web", dry_run=True)
    assert world.exists("ConfigMap", "web-conf")


# ---- 6. the API server rejects a manifest (test_api_rejection_names_the_object_and_changes_nothing) -------------

BROKEN_SELECTOR = ("    matchLabels:\n      app: {{ build.name }}\n", "    matchLabels:\n      app: nobody\n")


def test_api_rejection_names_the_object_and_changes_nothing(world: World):
    world.edit("web/k8s/deployment.yaml", *BROKEN_SELECTOR)
    first = world.fails("web")
    assert first.startswith("Deployment/web: ")
    assert "`selector` does not match template `labels`" in first
    assert first.endswith("; nothing was applied")
    assert world.state() == {} and world.api.calls == []  # not even the Service, which comes first

    world.edit("web/k8s/deployment.yaml", *reversed(BROKEN_SELECTOR))
    world.deploy("web")
    before = world.state()
    world.edit("web/k8s/deployment.yaml", "kind: Service\nmetadata:\n",
               "kind: Service\nmetadata:\n  annotations: {changed: 'yes'}\n")
    world.edit("web/k8s/deployment.yaml", *BROKEN_SELECTOR)
    assert world.fails("web").startswith("Deployment/web: ")
    assert world.state() == before


def test_missing_secret_is_named_before_anything_is_applied(world: World):
    # Cluster twin: tests/forge/test_deploy_cluster.py::test_missing_secret_is_named_before_anything_is_applied
    world.edit("web/k8s/deployment.yaml", "          image: {{ build.images[\"Dockerfile\"] }}\n",
               "          image: {{ build.images[\"Dockerfile\"] }}\n          env:\n            - name: PW\n"
               "              valueFrom: {secretKeyRef: {name: web-db, key: password}}\n"
               "          envFrom: [{configMapRef: {name: db}}, {secretRef: {name: extra, optional: true}}]\n")
    assert world.fails() == (
        f"Deployment/web: Secret web-db (env PW of container web) does not exist in namespace {NS}; nothing was "
        f"applied (create it first: kubectl create secret generic web-db -n {NS} --from-literal=password=...)")
    assert world.state() == {} and world.api.calls == []  # not api or db either, whose objects were fine

    world.api.put(f"/api/v1/namespaces/{NS}/secrets/web-db", {"apiVersion": "v1", "kind": "Secret",
                                                              "metadata": {"name": "web-db", "namespace": NS}})
    world.deploy()  # ConfigMap db comes with the same deploy; the optional Secret may be missing
    assert world.exists("Deployment", "web")
    world.api.remove(f"/api/v1/namespaces/{NS}/configmaps/db")
    assert world.fails("web").startswith("Deployment/web: ConfigMap db (envFrom of container web) does not exist")


# ---- 7. rollout failures (test_rollout_failure_is_explained_within_the_timeout) ----------------------------------


def test_image_pull_failure_is_explained(world: World):
    fail_pods(world, "image-pull")
    error = world.fails("web")
    image = image_of(world.object("Deployment", "web"))
    assert error.startswith("Deployment/web failed: pod web-")
    assert f"image cannot be pulled: {image} (ImagePullBackOff)" in error
    assert error.endswith("(and 1 more pod problems above)")  # two replicas
    assert [line for line in world.said if line.startswith("  pod web-")]


def test_crash_loop_is_explained_with_the_logs_it_could_not_read(world: World):
    fail_pods(world, "crash")
    error = world.fails("web")
    assert error.startswith("Deployment/web failed: pod web-")
    assert "container web is crash looping (restarts 3); last log lines unavailable (the node's kubelet did not " \
           "answer: connection refused)" in error


def test_crash_loop_shows_the_last_log_lines(world: World):
    fail_pods(world, "crash")
    world.api.logs.update({(f"web-1-{i}", "web"): "starting\nTraceback\nValueError: boom\n" for i in (0, 1)})
    world.fails("web")
    assert any(line.startswith("  pod web-1-0: container web is crash looping (restarts 3); last log lines:\n")
               and line.endswith("ValueError: boom") for line in world.said)


def test_a_rollout_that_does_not_finish_fails_at_the_timeout(world: World):
    fail_pods(world, "pending")
    error = world.fails("web", timeout=0.05)
    assert error == "Deployment/web not rolled out after 0.05 s: pod web-1-0: Pending, not ready yet " \
                    "(and 1 more pod problems above)"


# ---- 8. delete (test_delete_removes_exactly_one_service_profile, ..._leaves_objects_that_lost_forges_labels) ------


def test_delete_removes_exactly_one_service_profile(world: World):
    world.deploy()
    world.deploy("web", canary=True)
    before = world.state()
    web = {"Deployment/web", "Service/web", "ConfigMap/web-conf", "ConfigMap/forge-inventory-web"}
    run = world.run()

    delete(DeploymentRequest("web"), run.ctx)

    assert "  deleted Deployment/web" in run.stdout.lines
    after = world.state()
    assert set(before) - set(after) == web
    assert after == {k: v for k, v in before.items() if k not in web}
    with pytest.raises(ForgeError) as caught:
        delete(DeploymentRequest("web"), run.ctx)
    assert str(caught.value) == (f"web: no default deployment in namespace {NS} (context fake); deployed profiles: "
                                 "canary (choose one with --profile or --canary)")
    assert caught.value.hint == "choose one with --profile or --canary"


def test_delete_leaves_objects_that_lost_forges_labels(world: World):
    world.deploy("web")
    world.object("Service", "web")["metadata"]["labels"]["forge.shopbox.io/profile"] = "mine"
    run = world.run()

    delete(DeploymentRequest("web"), run.ctx)

    assert "  left Service/web alone: it does not carry forge's labels for web (profile default)" in run.stdout.lines
    assert world.exists("Service", "web") and not world.exists("Deployment", "web")


def test_delete_leaves_an_object_replaced_meanwhile(world: World):
    """The uid precondition: an object recreated between forge's label check and its delete is not deleted."""
    world.deploy("web")
    world.api.recreated.add(f"/api/v1/namespaces/{NS}/services/web")
    run = world.run()
    delete(DeploymentRequest("web"), run.ctx)
    assert "  left Service/web alone: it was replaced while forge was deleting it" in run.stdout.lines
    assert world.exists("Service", "web")


# ---- registry from the cluster (test_registry_from_the_clusters_local_registry_hosting) -------------------------


def test_registry_from_the_clusters_local_registry_hosting(world: World):
    (world.root / "forge.yaml").write_text(f"namespace: {NS}\nbuild_args:\n  BASE_IMAGE: base:1\n")
    world.api.local_registry = "localhost:5001"
    world.deploy("web")
    ref = image_of(world.object("Deployment", "web"))
    assert ref.startswith("localhost:5001/web:") and ref in world.engine.registry.images


def test_without_any_registry_images_stay_in_the_engine(world: World):
    (world.root / "forge.yaml").write_text(f"namespace: {NS}\nbuild_args:\n  BASE_IMAGE: base:1\n")
    said = world.deploy("web")
    ref = image_of(world.object("Deployment", "web"))
    assert ref.startswith("web:") and world.engine.built == [ref] and world.engine.pushed == []
    assert "images: 1 (registry: none, local engine only)" in said


# ---- nothing is applied when something before the apply fails ---------------------------------------------------


def test_failing_build_applies_nothing(world: World):
    world.engine.broken["web"] = "step 3/3: COPY app /app: no such file"
    error = world.fails()
    assert error.startswith("build of localhost:5001/web:") and "COPY app /app" in error
    assert world.state() == {} and world.api.calls == []
    assert world.engine.pushed == []  # not even the images that built fine


def test_unreachable_registry_builds_and_applies_nothing(world: World):
    world.engine.registry.up = False
    assert world.fails("web") == "registry localhost:5001 is unreachable: connection refused"
    assert world.engine.built == [] and world.api.calls == []


def test_missing_namespace_is_named_and_the_fix_is_the_hint(world: World):
    with pytest.raises(ForgeError) as caught:
        world.deploy("web", namespace="nowhere")
    assert (caught.value.message, caught.value.hint) == ("namespace nowhere does not exist in context fake",
                                                         "create it: kubectl create namespace nowhere")
    assert str(caught.value) == ("namespace nowhere does not exist in context fake "
                                 "(create it: kubectl create namespace nowhere)")


def test_kind_the_cluster_does_not_serve_applies_nothing(world: World):
    (world.root / "web" / "k8s" / "widget.yaml").write_text(
        "apiVersion: shop.example.com/v1\nkind: Widget\nmetadata:\n  name: {{ build.name }}\nspec: {size: 1}\n")
    assert world.fails("web") == "Widget/web: the cluster does not serve kind Widget in apiVersion shop.example.com/v1"
    assert world.state() == {}


def test_another_services_object_is_not_taken_over(world: World):
    world.deploy("web")
    world.object("Deployment", "web")["metadata"]["labels"]["app.kubernetes.io/name"] = "api"
    before = world.state()
    assert world.fails("web") == (
        "Deployment/web: already deployed by forge for service api (profile default); rename it in "
        "web/k8s/deployment.yaml or `forge delete` the other deployment; nothing was applied")
    assert world.state() == before


# ---- forge dev (test_dev_redeploys_a_one_file_change_and_leaves_the_deployment_on_ctrl_c) -----------------------


def test_dev_redeploys_a_one_file_change_follows_the_logs_and_leaves_the_deployment(world: World):
    for index in (0, 1):
        world.api.logs[(f"web-1-{index}", "web")] = "serving on :8080\n"
        world.api.logs[(f"web-2-{index}", "web")] = "serving on :8080, edited\n"
    run = world.run()
    said = run.stdout.lines
    loop = DevLoop(DeployRequest(path=world.root / "web", timeout=5), run.ctx, interval=0.05)
    versions: list[str] = []

    def edit() -> None:
        deadline = time.monotonic() + 30
        while "[web-1-0] serving on :8080" not in said and time.monotonic() < deadline:  # deployed, logs followed
            time.sleep(0.02)
        versions.append(version_of(world.object("Deployment", "web")))
        main_py = world.root / "web" / "app" / "main.py"
        main_py.write_text("print('hello, edited')\n")
        os.utime(main_py, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))

    editor = threading.Thread(target=edit)
    editor.start()
    loop.run(threading.Event(), max_deploys=2)
    editor.join(30)

    second = world.object("Deployment", "web")
    assert versions and version_of(second) != versions[0]
    assert image_of(second) in world.engine.built and len(world.engine.built) == 2  # the one changed image, again
    assert second["status"]["availableReplicas"] == second["spec"]["replicas"]
    assert [line for line in said if line.startswith("dev: web ready")][-1].endswith("after the change")
    assert "[web-1-0] serving on :8080" in said  # the first round's pods' logs were followed
    assert loop.farewell() == [f"left web deployed in namespace {NS}; remove it with: forge delete web -n {NS}"]
    assert world.exists("Deployment", "web")
