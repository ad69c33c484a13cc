"""forge's deploy scenarios, each written once and run through the CLI against two drivers: the in-memory fakes in
the unit tier (tests/forge/test_deploy_fakes.py) and a real API server, Docker engine and registry in the cluster
tier (tests/forge/test_deploy_cluster.py). SCENARIOS is the table both tiers parametrize over.

Every scenario works on the sample workspace (tests/forge/conftest.py: web, api requiring db, db) deployed into the
driver's namespace, and asserts only what both the fakes and the real thing must show: what forge prints, what is
in the namespace (uid and resourceVersion per object), what is in the registry.
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from tests.forge.cli import Ran

LABELS = ("app.kubernetes.io/managed-by", "app.kubernetes.io/name", "app.kubernetes.io/instance",
          "app.kubernetes.io/version", "forge.shopbox.io/profile")
WEB = {"Deployment/web", "Service/web", "ConfigMap/web-conf", "ConfigMap/forge-inventory-web"}
EVERYTHING = WEB | {"Deployment/api", "ConfigMap/db", "ConfigMap/forge-inventory-api", "ConfigMap/forge-inventory-db"}
BROKEN_SELECTOR = ("    matchLabels:\n      app: {{ build.name }}\n", "    matchLabels:\n      app: nobody\n")


class Driver(ABC):
    """The sample workspace at `root`, deploying into `namespace` of a cluster, with images going to `registry`."""

    root: Path
    namespace: str
    registry: str
    rollout: str  # --timeout for a rollout that should succeed
    give_up: str  # --timeout for one that cannot: forge must explain it before then

    @property
    @abstractmethod
    def context(self) -> str:
        """The kubeconfig context forge prints."""

    @abstractmethod
    def forge(self, *args: str, env: dict[str, str] | None = None) -> Ran:
        """`forge ARGS` in the workspace, against this driver's cluster, engine and registry."""

    @abstractmethod
    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        """An object of the namespace as the API server has it now."""

    @abstractmethod
    def state(self) -> dict[str, tuple[str, str]]:
        """`Kind/name` -> (uid, resourceVersion) of every object in the namespace but pods, ReplicaSets and what the
        cluster itself puts in every namespace."""

    @abstractmethod
    def create(self, obj: dict[str, Any]) -> None:
        """Create an object in the namespace by hand (as kubectl would)."""

    @abstractmethod
    def label(self, kind: str, name: str, key: str, value: str) -> None:
        """Change one label of an object by hand (`kubectl label --overwrite`)."""

    @abstractmethod
    def in_registry(self, ref: str) -> bool: ...

    @abstractmethod
    def in_engine(self, ref: str) -> bool:
        """The local Docker engine has the image `ref`."""

    @abstractmethod
    def advertised_registry(self) -> AbstractContextManager[str]:
        """While open, the cluster advertises `registry` as its local registry (KEP-1755); yields its host."""

    @abstractmethod
    def break_build(self, image: str) -> None:
        """Make the build of the image named `image` fail at a step."""

    @abstractmethod
    def registry_down(self) -> str:
        """Make forge.yaml's registry unreachable; its host."""

    # -- shared ------------------------------------------------------------------------------------------------

    def deploy(self, *args: str, env: dict[str, str] | None = None) -> list[str]:
        """`forge deploy ARGS`, which must succeed: the lines it printed on stdout."""
        return self.forge("deploy", *args, "--timeout", self.rollout, env=env).ok().stdout.splitlines()

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text()
        assert old in text, f"{relative} no longer contains {old!r}"
        path.write_text(text.replace(old, new, 1))

    def object(self, kind: str, name: str) -> dict[str, Any]:
        found = self.get(kind, name)
        assert found is not None, f"{kind}/{name} does not exist in {self.namespace}"
        return found

    def exists(self, kind: str, name: str) -> bool:
        return self.get(kind, name) is not None

    def without_registry(self) -> None:
        """forge.yaml without `registry` (its namespace and build args kept)."""
        config = self.root / "forge.yaml"
        config.write_text("".join(line + "\n" for line in config.read_text().splitlines()
                                  if not line.startswith("registry:")))

    def target(self) -> str:
        return f"context: {self.context}  namespace: {self.namespace}"

    def listed(self) -> list[dict[str, Any]]:
        return json.loads(self.forge("list", "-o", "json").ok().stdout)


def image_of(obj: dict[str, Any]) -> str:
    return obj["spec"]["template"]["spec"]["containers"][0]["image"]


def version_of(obj: dict[str, Any]) -> str:
    return obj["metadata"]["labels"]["app.kubernetes.io/version"]


def fail_pods(d: Driver, mode: str) -> None:
    """web's pods never become Ready (tests/cluster/kwok.yaml's annotation, which the fakes honour too)."""
    d.edit("web/k8s/deployment.yaml", "    metadata:\n      labels:\n",
           f"    metadata:\n      annotations:\n        shopbox.test/fail: {mode}\n      labels:\n")


def deploy_stable_and_canary(d: Driver) -> tuple[dict[str, Any], dict[str, Any]]:
    d.deploy("web")
    stable = d.object("Deployment", "web")
    d.edit("web/app/main.py", "print('hello')", "print('hello, slowly')")
    d.deploy("web", env={"CANARY": "true"})
    return stable, d.object("Deployment", "web-canary")


# ---- the scenarios ------------------------------------------------------------------------------------------------


def deploy_everything(d: Driver) -> None:
    dry = d.forge("deploy", "--dry-run").ok().stdout.splitlines()
    assert dry[0] == d.target() and "  Deployment/web would be created" in dry
    assert not [line for line in dry if line.endswith(": building")]
    assert dry[-1] == "dry run: nothing was built, pushed or applied"
    assert d.state() == {}, "a dry run applied something"

    said = d.deploy()
    assert said[0] == d.target()
    assert set(d.state()) == EVERYTHING
    db, api, web = d.object("ConfigMap", "db"), d.object("Deployment", "api"), d.object("Deployment", "web")
    assert said.index(f"db: applying 1 objects (version {version_of(db)})") < \
        said.index(f"api: applying 1 objects (version {version_of(api)})")  # requires: db first
    labels = web["metadata"]["labels"]
    assert (labels["app.kubernetes.io/managed-by"], labels["app.kubernetes.io/instance"]) == ("forge", "web")
    template = web["spec"]["template"]["metadata"]["labels"]
    assert {k: template[k] for k in LABELS} == {k: labels[k] for k in LABELS}
    assert web["status"].get("readyReplicas") == web["spec"]["replicas"] == 2
    assert "  Deployment/web rolled out (2 of 2 replicas available)" in said
    assert image_of(web) == f"{d.registry}/web:{version_of(web)}"  # one image: the build's version is its tag
    assert image_of(api).startswith(f"{d.registry}/api:")  # two (api, api-worker): the version is their hash
    assert d.in_registry(image_of(web)) and d.in_registry(image_of(api))

    assert {(r["service"], r["profile"], r["name"], r["ready"]) for r in d.listed()} == {
        ("web", "default", "web", True), ("api", "default", "api", True), ("db", "default", "db", True)}
    table = d.forge("list").ok().stdout.splitlines()
    assert table[0].split() == ["SERVICE", "PROFILE", "NAME", "VERSION", "READY"]
    assert ["web", "default", "web", version_of(web), "ready"] in [line.split() for line in table]


def url_of_a_cluster_ip_and_a_node_port_service(d: Driver) -> None:
    d.deploy("web")
    local = d.forge("url", "web").ok()
    assert local.stdout == "http://127.0.0.1:8080\n"
    assert local.stderr == ("web is not exposed outside the cluster; first run: "
                            f"kubectl --context {d.context} -n {d.namespace} port-forward service/web 8080:8080\n")
    as_json = json.loads(d.forge("url", "web", "-o", "json").ok().stdout)
    assert as_json == {"service": "web", "profile": "default", "name": "web", "url": "http://127.0.0.1:8080",
                       "via": "Service/web", "first_run": local.stderr.split("first run: ")[1].strip()}

    d.edit("web/k8s/deployment.yaml", "  ports:\n", "  type: NodePort\n  ports:\n")
    said = d.deploy("web")
    node_port = d.object("Service", "web")["spec"]["ports"][0]["nodePort"]
    assert f"web: reach Service/web at http://127.0.0.1:{node_port}" in said  # the node's address: 127.0.0.1
    exposed = d.forge("url", "web").ok()
    assert (exposed.stdout, exposed.stderr) == (f"http://127.0.0.1:{node_port}\n", "")


def url_of_a_service_the_shell_keeps_a_port_forward_open_to(d: Driver) -> None:
    """A classroom seat's joined shell (FORGE_SERVICE_URLS): its forward's address, with nothing to run first, for
    the Service of that namespace only."""
    forwarded = {"FORGE_SERVICE_URLS": f"{d.namespace}/web=http://localhost:30080/,other/api=http://localhost:1"}
    said = d.forge("deploy", "web", env=forwarded).ok().stdout
    assert "web: reach Service/web at http://localhost:30080" in said
    kept = d.forge("url", "web", env=forwarded).ok()
    assert (kept.stdout, kept.stderr) == ("http://localhost:30080\n", "")
    elsewhere = d.forge("url", "web", env={"FORGE_SERVICE_URLS": "other/web=http://localhost:30080"}).ok()
    assert elsewhere.stdout == "http://127.0.0.1:8080\n" and "first run: kubectl" in elsewhere.stderr
    assert d.forge("url", "web", env={"FORGE_SERVICE_URLS": "web=localhost:1"}).error() == \
        "error: FORGE_SERVICE_URLS: 'web=localhost:1' is not NAMESPACE/SERVICE=URL"


def redeploy_with_nothing_changed_builds_pushes_and_rolls_nothing(d: Driver) -> None:
    d.deploy("web")
    before = d.object("Deployment", "web")
    said = d.deploy("web")
    assert not [line for line in said if line.endswith((": building", ": pushing"))], said
    assert "  Deployment/web unchanged" in said
    after = d.object("Deployment", "web")
    assert (after["metadata"]["generation"], image_of(after)) == (before["metadata"]["generation"], image_of(before))


def canary_beside_stable_then_promote(d: Driver) -> None:
    stable, canary = deploy_stable_and_canary(d)
    assert canary["metadata"]["labels"]["forge.shopbox.io/profile"] == "canary"
    assert version_of(canary) != version_of(stable) and image_of(canary) != image_of(stable)
    unchanged = d.object("Deployment", "web")
    assert (unchanged["metadata"]["generation"], image_of(unchanged)) == (stable["metadata"]["generation"],
                                                                         image_of(stable))
    said = d.forge("canary", "promote", "web", "--timeout", d.rollout).ok().stdout.splitlines()

    assert f"promoting web-canary (version {version_of(canary)}) to web (profile default)" in said
    promoted = d.object("Deployment", "web")
    assert promoted["metadata"]["uid"] == stable["metadata"]["uid"]
    assert (image_of(promoted), version_of(promoted)) == (image_of(canary), version_of(canary))
    assert promoted["status"].get("readyReplicas") == promoted["spec"]["replicas"] == 2  # the stable profile's size
    for kind, name in (("Deployment", "web-canary"), ("Service", "web-canary"),
                       ("ConfigMap", "forge-inventory-web-canary")):
        assert not d.exists(kind, name)
    assert [(r["name"], r["version"]) for r in d.listed()] == [("web", version_of(canary))]


def promote_without_a_canary_changes_nothing(d: Driver) -> None:
    d.deploy("web")
    before = d.state()
    error = d.forge("canary", "promote", "web").error()
    assert error.startswith(f"error: web: no canary deployment in namespace {d.namespace} (context {d.context})")
    assert d.state() == before


def canary_abort_removes_only_the_canary(d: Driver) -> None:
    deploy_stable_and_canary(d)
    before = {k: v for k, v in d.state().items() if "canary" not in k}

    said = d.forge("canary", "abort", "web").ok().stdout.splitlines()

    assert "  deleted Deployment/web-canary" in said and "  deleted Service/web-canary" in said
    assert d.state() == before
    again = d.forge("canary", "abort", "web").error()
    assert again.startswith(f"error: web: no canary deployment in namespace {d.namespace} ")


def removed_template_is_pruned_and_nothing_else(d: Driver) -> None:
    d.deploy()
    d.deploy("web", env={"CANARY": "true"})
    d.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "by-hand"}, "data": {"a": "b"}})
    before = d.state()

    (d.root / "web" / "k8s" / "configmap.yaml").unlink()
    said = d.deploy("web")

    assert "  deleted ConfigMap/web-conf" in said
    after = d.state()
    assert set(before) - set(after) == {"ConfigMap/web-conf"}
    # Nothing else changed (same uid and resourceVersion); only the inventory records the new object list.
    assert {k for k in after if before[k] != after[k]} <= {"ConfigMap/forge-inventory-web"}


def dry_run_says_what_would_be_pruned(d: Driver) -> None:
    d.deploy("web")
    (d.root / "web" / "k8s" / "configmap.yaml").unlink()
    said = d.forge("deploy", "web", "--dry-run").ok().stdout.splitlines()
    assert "  ConfigMap/web-conf would be pruned" in said
    assert d.exists("ConfigMap", "web-conf")


def api_rejection_names_the_object_and_changes_nothing(d: Driver) -> None:
    # A selector that does not match the pod labels passes the OpenAPI schema check; only the API server knows.
    d.edit("web/k8s/deployment.yaml", *BROKEN_SELECTOR)
    first = d.forge("deploy", "web").error()
    assert first.startswith("error: Deployment/web: ") and first.endswith("; nothing was applied")
    assert "`selector` does not match template `labels`" in first
    assert d.state() == {}  # not even the Service, which comes first in apply order

    d.edit("web/k8s/deployment.yaml", *reversed(BROKEN_SELECTOR))
    d.deploy("web")
    before = d.state()
    d.edit("web/k8s/deployment.yaml", "kind: Service\nmetadata:\n", "kind: Service\nmetadata:\n"
           "  annotations: {changed: 'yes'}\n")
    d.edit("web/k8s/deployment.yaml", *BROKEN_SELECTOR)
    assert d.forge("deploy", "web").error().startswith("error: Deployment/web: ")
    assert d.state() == before
    assert "changed" not in (d.object("Service", "web")["metadata"].get("annotations") or {})


def rollout_failure_image_pull_is_explained(d: Driver) -> None:
    fail_pods(d, "image-pull")
    ran = d.forge("deploy", "web", "--timeout", d.give_up)
    error = ran.error()
    image = image_of(d.object("Deployment", "web"))
    assert error.startswith("error: Deployment/web ") and ": pod web-" in error
    assert f"image cannot be pulled: {image} (" in error
    assert [line for line in ran.stdout.splitlines() if line.startswith("  pod web-")]  # each pod's reason


def rollout_failure_crash_loop_is_explained(d: Driver) -> None:
    fail_pods(d, "crash")
    ran = d.forge("deploy", "web", "--timeout", d.give_up)
    error = ran.error()
    assert error.startswith("error: Deployment/web ") and ": pod web-" in error
    assert "container web is crash looping (restarts " in error
    assert "last log lines unavailable" in error  # no kubelet to ask (kwok runs no containers), and forge says so


def delete_removes_exactly_one_service_profile(d: Driver) -> None:
    d.deploy()
    d.deploy("web", env={"CANARY": "true"})
    d.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "by-hand"}, "data": {"a": "b"}})
    before = d.state()

    said = d.forge("delete", "web").ok().stdout.splitlines()

    assert said[0] == d.target() and "  deleted Deployment/web" in said
    after = d.state()
    assert set(before) - set(after) == WEB
    assert after == {k: v for k, v in before.items() if k not in WEB}
    assert d.forge("delete", "web").error() == (
        f"error: web: no default deployment in namespace {d.namespace} (context {d.context}); deployed profiles: "
        "canary (choose one with --profile or --canary)")


def delete_leaves_objects_that_lost_forges_labels(d: Driver) -> None:
    d.deploy("web")
    d.label("Service", "web", "forge.shopbox.io/profile", "mine")

    said = d.forge("delete", "web").ok().stdout.splitlines()

    assert "  left Service/web alone: it does not carry forge's labels for web (profile default)" in said
    assert d.exists("Service", "web") and not d.exists("Deployment", "web")


def registry_from_the_clusters_local_registry_hosting(d: Driver) -> None:
    d.without_registry()
    with d.advertised_registry() as host:
        d.deploy("web")
    ref = image_of(d.object("Deployment", "web"))
    assert ref.startswith(f"{host}/web:") and d.in_registry(ref)


def without_any_registry_images_stay_in_the_engine(d: Driver) -> None:
    d.without_registry()
    said = d.deploy("web")
    ref = image_of(d.object("Deployment", "web"))
    assert ref.startswith("web:") and d.in_engine(ref)
    assert "images: 1 (registry: none, local engine only)" in said


def failing_build_applies_nothing(d: Driver) -> None:
    d.break_build("web")
    ran = d.forge("deploy")
    assert ran.error().startswith(f"error: build of {d.registry}/web:")
    assert d.state() == {}  # not even the services whose images built fine
    assert not [line for line in ran.stdout.splitlines() if line.endswith((": pushing", ": pushed"))]  # none pushed


def unreachable_registry_builds_and_applies_nothing(d: Driver) -> None:
    host = d.registry_down()
    ran = d.forge("deploy", "web")
    assert ran.error().lower().startswith(f"error: registry {host} is unreachable: connection refused")
    assert "building" not in ran.stdout and d.state() == {}


def missing_namespace_is_named(d: Driver) -> None:
    missing = f"{d.namespace}-nowhere"
    assert d.forge("deploy", "web", "-n", missing).error() == (
        f"error: namespace {missing} does not exist in context {d.context} "
        f"(create it: kubectl create namespace {missing})")


def missing_secret_is_named_before_anything_is_applied(d: Driver) -> None:
    d.edit("web/k8s/deployment.yaml", "          image: {{ build.images[\"Dockerfile\"] }}\n",
           "          image: {{ build.images[\"Dockerfile\"] }}\n          env:\n            - name: PW\n"
           "              valueFrom: {secretKeyRef: {name: web-db, key: password}}\n"
           "          envFrom: [{configMapRef: {name: db}}, {secretRef: {name: extra, optional: true}}]\n")
    assert d.forge("deploy", "--timeout", d.rollout).error() == (
        f"error: Deployment/web: Secret web-db (env PW of container web) does not exist in namespace {d.namespace}; "
        f"nothing was applied (create it first: kubectl create secret generic web-db -n {d.namespace} "
        "--from-literal=password=...)")
    assert d.state() == {}  # not api or db either, whose objects were fine

    d.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web-db"}, "data": {"password": "eA=="}})
    d.deploy()  # ConfigMap db comes with the same deploy; the optional Secret may be missing
    assert d.object("Deployment", "web")["status"].get("readyReplicas") == 2


def kind_the_cluster_does_not_serve_applies_nothing(d: Driver) -> None:
    (d.root / "web" / "k8s" / "widget.yaml").write_text(
        "apiVersion: shop.example.com/v1\nkind: Widget\nmetadata:\n  name: {{ build.name }}\nspec: {size: 1}\n")
    assert d.forge("deploy", "web").error() == (
        "error: Widget/web: the cluster does not serve kind Widget in apiVersion shop.example.com/v1")
    assert d.state() == {}


def another_services_object_is_not_taken_over(d: Driver) -> None:
    d.deploy("web")
    d.label("Deployment", "web", "app.kubernetes.io/name", "api")
    before = d.state()
    assert d.forge("deploy", "web").error() == (
        "error: Deployment/web: already deployed by forge for service api (profile default); rename it in "
        "web/k8s/deployment.yaml or `forge delete` the other deployment; nothing was applied")
    assert d.state() == before


def dev_redeploys_a_one_file_change(d: Driver) -> None:
    """`forge dev web --max-deploys 2`: deploy, watch; a one-line edit of web/app/main.py once the first round is
    Ready -> a new image and version rolled out, then forge says what it left and how to remove it."""
    versions: list[str] = []

    def edit_when_ready() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            web = d.get("Deployment", "web")
            if web and (web.get("status") or {}).get("readyReplicas") == 2:
                versions.append(version_of(web))
                main_py = d.root / "web" / "app" / "main.py"
                main_py.write_text("print('hello, edited')\n")
                return
            time.sleep(0.2)

    editor = threading.Thread(target=edit_when_ready)
    editor.start()
    ran = d.forge("dev", "web", "--max-deploys", "2", "--interval", "0.2", "--timeout", d.rollout).ok()
    editor.join(60)

    second = d.object("Deployment", "web")
    assert versions and version_of(second) != versions[0]
    assert second["status"].get("availableReplicas") == second["spec"]["replicas"]
    ready = [line for line in ran.stdout.splitlines() if line.startswith("dev: web ready ")]
    assert len(ready) == 2 and ready[-1].endswith("after the change"), ran.stdout
    assert ran.stderr.splitlines()[-1] == (f"left web deployed in namespace {d.namespace}; remove it with: forge "
                                           f"delete web -n {d.namespace}")


# ---- issue 24: profile copies, several targets, service.yaml as a template, nested services --------------------

# web's profile from the branch: main is the default, any other branch a copy named after it.
BRANCHES = "branches:\n  main: default\n  \"*\": \"{{ (branch or 'dev') | replace('/', '-') | lower }}\"\n"
MAIN = {"FORGE_BRANCH": "main"}


def copy_of(name: str) -> set[str]:
    """web's objects in a build named `name`."""
    return {f"Deployment/{name}", f"Service/{name}", f"ConfigMap/{name}-conf", f"ConfigMap/forge-inventory-{name}"}


def profiles_side_by_side_deleted_one_at_a_time(d: Driver) -> None:
    """Two copies of web beside the default one, from --profile and from a branch, each with its own objects,
    Services and inventory; deleting one (by --profile, or on its branch) leaves the others untouched."""
    (d.root / "web/service.yaml").write_text((d.root / "web/service.yaml").read_text() + BRANCHES)
    d.deploy("web", env=MAIN)
    d.deploy("web", "--profile", "alice", env=MAIN)
    d.deploy("web", env={"FORGE_BRANCH": "feature/Login"})
    assert set(d.state()) == copy_of("web") | copy_of("web-alice") | copy_of("web-feature-login")
    for name, profile in (("web", "default"), ("web-alice", "alice"), ("web-feature-login", "feature-login")):
        labels = d.object("Deployment", name)["metadata"]["labels"]
        assert (labels["app.kubernetes.io/instance"], labels["forge.shopbox.io/profile"]) == (name, profile)
        assert d.object("Service", name)["spec"]["selector"] == {"app": name}  # each copy's Service: its own pods
    assert {(r["service"], r["profile"], r["name"], r["ready"]) for r in d.listed()} == {
        ("web", "default", "web", True), ("web", "alice", "web-alice", True),
        ("web", "feature-login", "web-feature-login", True)}

    before = d.state()
    d.forge("delete", "web", "--profile", "alice").ok()
    after = d.state()
    assert set(after) == copy_of("web") | copy_of("web-feature-login")
    assert after == {k: v for k, v in before.items() if k in after}  # the others not even updated
    # On the branch, `forge delete web` means the branch's copy, as `forge deploy web` did.
    said = d.forge("delete", "web", env={"FORGE_BRANCH": "feature/Login"}).ok().stdout.splitlines()
    assert said[1].startswith("deleting web-feature-login (service web, profile feature-login, "), said
    assert set(d.state()) == copy_of("web")
    d.forge("delete", "web").ok()
    assert d.state() == {}


def several_targets_are_one_deploy_with_one_wait(d: Driver) -> None:
    """`forge deploy web api --profile alice`: one plan (db comes with api), one wait, one inventory per service;
    `forge delete` of several."""
    said = d.forge("deploy", "web", "api", "--profile", "alice", "--timeout", d.rollout).ok().stdout.splitlines()
    seconds = float(d.rollout.removesuffix("s"))
    assert [line for line in said if line.startswith("waiting up to")] == [
        f"waiting up to {seconds:g} s for Deployment/web-alice, Deployment/api-alice to roll out"]
    assert set(d.state()) == copy_of("web-alice") | {
        "Deployment/api-alice", "ConfigMap/db-alice", "ConfigMap/forge-inventory-api-alice",
        "ConfigMap/forge-inventory-db-alice"}
    before = d.state()
    assert d.forge("delete", "web", "nothere", "--profile", "alice").error() == (
        f"error: nothere: forge has not deployed it in namespace {d.namespace} (context {d.context})")
    assert d.state() == before  # one missing: nothing deleted
    d.forge("delete", "web", "api", "db", "--profile", "alice").ok()
    assert d.state() == {}


def service_yaml_from_the_environment_and_k8s_namespace(d: Driver) -> None:
    """service.yaml rendered with env; forge.yaml names no namespace, K8S_NAMESPACE does."""
    d.edit("web/service.yaml", "replicas: 2", "replicas: {{ env.WEB_REPLICAS | default(2) }}")
    d.edit("forge.yaml", f"namespace: {d.namespace}\n", "")
    d.deploy("web", env={"K8S_NAMESPACE": d.namespace, "WEB_REPLICAS": "3"})
    web = d.object("Deployment", "web")
    assert web["spec"]["replicas"] == 3 and web["status"].get("readyReplicas") == 3


def root_service_deploys_a_nested_requirement(d: Driver) -> None:
    """The workspace root is itself a service requiring one nested two deep (`requires` as one name)."""
    configmap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ build.name }}\ndata: {}\n"
    for relative, name, requires in (("", "shop", "requires: cart\n"), ("parts/cart/", "cart", "")):
        (d.root / relative / "k8s").mkdir(parents=True)
        (d.root / relative / "service.yaml").write_text(f"name: {name}\ncontainers: []\n{requires}")
        (d.root / relative / "k8s/config.yaml").write_text(configmap)
    said = d.deploy("service.yaml")
    assert [line.split(":")[0] for line in said if ": applying " in line] == ["cart", "shop"]
    assert set(d.state()) == {"ConfigMap/shop", "ConfigMap/cart", "ConfigMap/forge-inventory-shop",
                              "ConfigMap/forge-inventory-cart"}


BAD_INPUTS = (  # (file edits, args, environment, the error)
    ({}, ("--profile", "Alice"), {}, "error: profile 'Alice' is not a DNS label (lowercase letters, digits and '-', at "
     "most 63 characters): a copy is named <service>-<profile>"),
    ({}, (), {"FORGE_PROFILE": "alcie"}, "error: web/service.yaml: profile 'alcie' is not defined (profiles: canary, "
     "default) (to deploy a separate copy named web-alcie, pass --profile alcie)"),
    ({"web/service.yaml": "branches:\n  feature /*: canary\n"}, (), {}, "error: web/service.yaml: branches.feature "
     "/*: the glob matches no branch: git branch names cannot have a space or control character"),
    ({"web/service.yaml": "branches: [main]\n"}, (), {}, "error: web/service.yaml: branches: expected a mapping"),
    ({"web/service.yaml": BRANCHES.replace(" | lower", "")}, (), {"FORGE_BRANCH": "Feature/x"}, "error: "
     "web/service.yaml: branches.*: 'Feature-x' is not a valid profile name (a DNS label: lowercase letters, "
     "digits and '-', at most 63 characters)"),
    ({"web/service.yaml": "extra: {{ env.WEB_EXTRA }}\n"}, (), {}, "error: web/service.yaml:LINE: env.WEB_EXTRA is "
     "not set (for an optional variable write {{ env.WEB_EXTRA | default(...) }})"),
    ({}, (), {"K8S_NAMESPACE": "Shop"}, "error: K8S_NAMESPACE=Shop: not a DNS label (lowercase letters, digits and "
     "'-', at most 63 characters, starting and ending with a letter or digit)"),
    ({}, (), {"CANARY": "ture"}, "error: CANARY=ture: expected true, 1, yes or on (canary) or false, 0, no or off "
     "(not)"),
)


def bad_input_applies_nothing(d: Driver) -> None:
    """Issue 24's bad input, each one line, with nothing applied (web/service.yaml gains the lines given)."""
    original = (d.root / "web/service.yaml").read_text()
    added_at = len(original.splitlines()) + 1  # LINE: the first line added
    for files, args, env, message in BAD_INPUTS:
        (d.root / "web/service.yaml").write_text(original + files.get("web/service.yaml", ""))
        error = d.forge("deploy", "web", *args, env=env).error()
        assert error == message.replace("LINE", str(added_at)), error
        assert d.state() == {}, message


def above_the_workspace_nothing_is_deployed(d: Driver) -> None:
    """`cd ~ && forge deploy` (here: `forge deploy ..`) with the workspace below: refused, listing it."""
    error = d.forge("deploy", "..").error()
    assert error == (f"error: {d.root.parent}: no service.yaml in this workspace; below it are other workspaces, each "
                     "with its own settings: . (forge.yaml) (run forge inside one of them, e.g. cd .)"), error
    assert d.state() == {}


SCENARIOS: dict[str, Callable[[Driver], None]] = {scenario.__name__: scenario for scenario in (
    deploy_everything, url_of_a_cluster_ip_and_a_node_port_service,
    url_of_a_service_the_shell_keeps_a_port_forward_open_to,
    redeploy_with_nothing_changed_builds_pushes_and_rolls_nothing, canary_beside_stable_then_promote,
    promote_without_a_canary_changes_nothing, canary_abort_removes_only_the_canary,
    removed_template_is_pruned_and_nothing_else, dry_run_says_what_would_be_pruned,
    api_rejection_names_the_object_and_changes_nothing, rollout_failure_image_pull_is_explained,
    rollout_failure_crash_loop_is_explained, delete_removes_exactly_one_service_profile,
    delete_leaves_objects_that_lost_forges_labels, registry_from_the_clusters_local_registry_hosting,
    without_any_registry_images_stay_in_the_engine, failing_build_applies_nothing,
    unreachable_registry_builds_and_applies_nothing, missing_namespace_is_named,
    missing_secret_is_named_before_anything_is_applied, kind_the_cluster_does_not_serve_applies_nothing,
    another_services_object_is_not_taken_over, dev_redeploys_a_one_file_change,
    profiles_side_by_side_deleted_one_at_a_time, several_targets_are_one_deploy_with_one_wait,
    service_yaml_from_the_environment_and_k8s_namespace, root_service_deploys_a_nested_requirement,
    bad_input_applies_nothing, above_the_workspace_nothing_is_deployed,
)}

