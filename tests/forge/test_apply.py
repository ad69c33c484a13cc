"""Apply/prune/list logic without a cluster: label and prune selection, inventories, ownership, promote's images,
endpoints and the list table. The cluster-tier behaviour is in tests/forge/test_deploy_cluster.py."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from forge.cluster.apply import Planned, owner_conflict
from forge.cluster.endpoints import Endpoint, endpoint, local_port, pick_port
from forge.cluster.inventory import Inventory, matches, selector, stale
from forge.cluster.kube import Cluster, ObjectRef, ResourceType
from forge.cluster.listing import Row, WorkloadState, table
from forge.commands.options import parse_duration
from forge.errors import ForgeError
from forge.manifests.render import render
from forge.model import LABEL_MANAGED_BY, LABEL_NAME, LABEL_PROFILE, Build
from forge.plan import plan
from forge.verbs.canary_promote import with_images_of

pytestmark = pytest.mark.unit

DEPLOY = ObjectRef("apps/v1", "Deployment", "shop", "web")
SERVICE = ObjectRef("v1", "Service", "shop", "web")
CONF = ObjectRef("v1", "ConfigMap", "shop", "web-conf")


@pytest.fixture
def web(sample_workspace: Path) -> Build:
    [build] = plan(sample_workspace / "web")
    return build


@pytest.fixture
def web_canary(sample_workspace: Path) -> Build:
    [build] = plan(sample_workspace / "web", canary=True)
    return build


# ---- prune selection --------------------------------------------------------------------------------------------


def test_stale_is_what_was_recorded_and_is_no_longer_rendered():
    assert stale([DEPLOY, SERVICE, CONF], [DEPLOY, SERVICE]) == [CONF]
    assert stale([DEPLOY], [DEPLOY, SERVICE, CONF]) == []
    assert stale([CONF, CONF], []) == [CONF]


def test_an_apiversion_change_is_the_same_object_not_a_prune():
    old = ObjectRef("autoscaling/v1", "HorizontalPodAutoscaler", "shop", "web")
    new = ObjectRef("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web")
    assert stale([old], [new]) == []
    # ... but the same name in another namespace or of another kind is another object.
    assert stale([SERVICE], [ObjectRef("v1", "Service", "other", "web")]) == [SERVICE]
    assert stale([SERVICE], [ObjectRef("v1", "Endpoints", "shop", "web")]) == [SERVICE]


def test_only_objects_with_this_service_and_profile_labels_match(web: Build, web_canary: Build):
    assert selector("web", "default") == web.selector()
    assert matches({**web.labels(), "app": "web"}, web.selector())
    assert not matches(web_canary.labels(), web.selector())  # another profile's
    assert not matches({"app": "web"}, web.selector())  # not created by forge
    assert not matches({**web.labels(), LABEL_NAME: "api"}, web.selector())  # another service's
    assert not matches(None, web.selector())


# ---- inventory --------------------------------------------------------------------------------------------------


def test_inventory_round_trips_through_its_configmap(web_canary: Build):
    inv = Inventory.of(web_canary, [DEPLOY, SERVICE])
    cm = inv.configmap()
    assert cm["metadata"]["name"] == "forge-inventory-web-canary"
    assert cm["metadata"]["namespace"] == "shop"
    assert matches(cm["metadata"]["labels"], web_canary.selector())
    back = Inventory.from_configmap(cm)
    assert back == inv
    assert back.images == {"web": web_canary.images["web"].ref}
    assert back.canary


def test_a_broken_inventory_is_named():
    cm = {"metadata": {"name": "forge-inventory-x", "namespace": "shop"}, "data": {"service": "x"}}
    with pytest.raises(ForgeError, match=r"^ConfigMap shop/forge-inventory-x: not a forge inventory"):
        Inventory.from_configmap(cm)


# ---- ownership before apply ---------------------------------------------------------------------------------------


def planned_with_existing(build: Build, labels: dict[str, str] | None) -> Planned:
    manifest = next(m for m in render([build]) if m.kind == "Deployment")
    existing = None if labels is None else {"metadata": {"name": manifest.name, "labels": labels}}
    resource = ResourceType("apps/v1", "Deployment", "deployments", True)
    return Planned(manifest, resource, ObjectRef("apps/v1", "Deployment", "shop", manifest.name), manifest.doc,
                   existing)


def test_forge_takes_over_its_own_and_unlabelled_objects(web: Build):
    assert owner_conflict(planned_with_existing(web, None)) is None
    assert owner_conflict(planned_with_existing(web, {"app": "web"})) is None  # e.g. made by kubectl in an exercise
    assert owner_conflict(planned_with_existing(web, web.labels())) is None


def test_forge_refuses_another_services_or_profiles_object(web: Build):
    other = {LABEL_MANAGED_BY: "forge", LABEL_NAME: "api", LABEL_PROFILE: "default"}
    assert owner_conflict(planned_with_existing(web, other)) == (
        "Deployment/web: already deployed by forge for service api (profile default); "
        "rename it in web/k8s/deployment.yaml or `forge delete` the other deployment"
    )


# ---- promote ------------------------------------------------------------------------------------------------------


def test_promote_uses_the_canarys_images_and_version(web: Build, web_canary: Build):
    canary = Inventory.of(web_canary, [DEPLOY])
    canary.images = {"web": "localhost:5001/web:feedfacefeedface"}
    canary.version = "feedfacefeedface"
    promoted = with_images_of(web, canary)
    assert (promoted.name, promoted.profile, promoted.version) == ("web", "default", "feedfacefeedface")
    assert promoted.images["Dockerfile"].ref == promoted.images["web"].ref == "localhost:5001/web:feedfacefeedface"
    assert promoted.images["web"].version == "feedfacefeedface"
    [deployment] = [m for m in render([promoted]) if m.kind == "Deployment"]
    assert deployment.doc["spec"]["template"]["spec"]["containers"][0]["image"] == "localhost:5001/web:feedfacefeedface"
    assert deployment.doc["metadata"]["labels"]["app.kubernetes.io/version"] == "feedfacefeedface"


def test_promote_refuses_when_the_canary_lacks_a_container(web: Build, web_canary: Build):
    canary = Inventory.of(web_canary, [DEPLOY])
    canary.images = {}
    message = r"^web: the canary has no image for container web: the service changed since \(deploy the canary again\)$"
    with pytest.raises(ForgeError, match=message):
        with_images_of(web, canary)


# ---- which deployment list/delete/url mean -------------------------------------------------------------------------


def test_list_table(web: Build, web_canary: Build):
    stable = Row(Inventory.of(web, [DEPLOY]), [WorkloadState(DEPLOY, True, "2 of 2 replicas available")])
    canary = Row(Inventory.of(web_canary, []), [WorkloadState(DEPLOY, False, "missing")])
    lines = table([stable, canary]).splitlines()
    assert lines[0].split() == ["SERVICE", "PROFILE", "NAME", "VERSION", "READY"]
    assert lines[1].split() == ["web", "default", "web", web.version, "ready"]
    assert lines[2].split() == ["web", "canary", "web-canary", web_canary.version, "not", "ready", "(0/1", "workloads)"]
    assert stable.to_dict()["workloads"] == [
        {"kind": "Deployment", "name": "web", "ready": True, "status": "2 of 2 replicas available"}
    ]


# ---- endpoints ----------------------------------------------------------------------------------------------------


def service(type_: str = "ClusterIP", ports=None, ingress=None) -> dict:
    ports = [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 31234}] if ports is None else ports
    return {
        "metadata": {"name": "qotm", "namespace": "shop"},
        "spec": {"type": type_, "ports": ports},
        "status": {"loadBalancer": {"ingress": ingress or []}},
    }


def fake_cluster() -> Cluster:
    return Cluster(context="kind-kind", namespace="shop", api=None)  # type: ignore[arg-type]  # no request made


def test_endpoint_kinds():
    c = fake_cluster()
    assert endpoint(c, service("LoadBalancer", ingress=[{"ip": "172.18.0.5"}]), "10.0.0.1") == Endpoint(
        "qotm", "http://172.18.0.5:80")
    assert endpoint(c, service("NodePort"), "172.18.0.2") == Endpoint("qotm", "http://172.18.0.2:31234")
    assert endpoint(c, service("ClusterIP"), None) == Endpoint(
        "qotm", "http://127.0.0.1:8080", "kubectl --context kind-kind -n shop port-forward service/qotm 8080:80")
    assert endpoint(c, service(ports=[]), None) is None


def test_port_choice():
    assert pick_port([{"port": 9090, "name": "metrics"}, {"port": 8080}])["port"] == 8080
    assert pick_port([{"port": 443, "name": "tls"}, {"port": 5000, "name": "http"}])["port"] == 5000
    assert pick_port([{"port": 9901}])["port"] == 9901
    assert (local_port(80), local_port(443), local_port(5000)) == (8080, 8443, 5000)


# ---- --timeout ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [("300", 300), ("90s", 90), ("5m", 300), ("1m30s", 90),
                                               ("1h", 3600), ("2.5", 2.5)])
def test_durations(text, seconds):
    assert parse_duration(None, None, text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5x", "0", "-3"])
def test_bad_durations(text):
    with pytest.raises(click.BadParameter):
        parse_duration(None, None, text)
