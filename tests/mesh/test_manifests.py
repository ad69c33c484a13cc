"""The mesh lab's Kubernetes objects and sidecar config as forge renders them (unit): PostgreSQL as a StatefulSet
with a claim, a Secret it does not write, non-root; usersvc behind its Envoy sidecar; the edge's /users/ route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.mesh.apps import JAEGER_DIR, POSTGRES_DIR
from tests.mesh.rendered import clusters, listener_routes, sidecar_config, usersvc_objects
from tests.services.rendered import ENVOY_DIR, REPO, config_file, find, render, sha256
from tests.services.test_network_policies import ENVOY, OTHER, allowed
from versions_env import read_versions

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def objects(tmp_path_factory) -> list[dict[str, Any]]:
    """usersvc's and postgres' objects."""
    return usersvc_objects(tmp_path_factory.mktemp("usersvc")) + render(POSTGRES_DIR, tmp_path_factory.mktemp("pg"))


def containers(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in workload["spec"]["template"]["spec"]["containers"]}


def assert_restricted(workload: dict[str, Any]) -> None:
    pod = workload["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] >= 10000
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                                "capabilities": {"drop": ["ALL"]}}
        assert set(container["resources"]["limits"]) == {"cpu", "memory", "ephemeral-storage"}


def test_usersvc_and_postgres_objects(objects) -> None:
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects) == [
        ("ConfigMap", "usersvc-sidecar"), ("Deployment", "usersvc"), ("NetworkPolicy", "postgres"),
        ("NetworkPolicy", "usersvc"), ("PodDisruptionBudget", "usersvc"), ("Service", "postgres"),
        ("Service", "usersvc"), ("StatefulSet", "postgres")]


def test_postgres_is_a_statefulset_with_a_claim_a_secret_and_a_readiness_probe(objects) -> None:
    statefulset = find(objects, "StatefulSet", "postgres")
    assert statefulset["spec"]["serviceName"] == "postgres" and statefulset["spec"]["replicas"] == 1
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data" and claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    postgres = containers(statefulset)["postgres"]
    assert postgres["image"] == read_versions()["POSTGRES_IMAGE"]
    assert {"name": "data", "mountPath": "/var/lib/postgresql/data"} in postgres["volumeMounts"]
    env = {e["name"]: e for e in postgres["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "postgres-credentials",
                                                                      "key": "password"}}
    assert env["PGDATA"]["value"].startswith("/var/lib/postgresql/data/")
    assert postgres["readinessProbe"]["exec"]["command"][0] == "pg_isready"
    assert statefulset["spec"]["template"]["spec"]["securityContext"]["fsGroup"] == 10001
    assert_restricted(statefulset)
    assert find(objects, "Service", "postgres")["spec"]["clusterIP"] == "None"
    assert not [o for o in objects if o["kind"] == "Secret"]  # the password is never rendered


def test_usersvc_listens_on_loopback_behind_its_sidecar(objects) -> None:
    deployment = find(objects, "Deployment", "usersvc")
    app, sidecar = containers(deployment)["usersvc"], containers(deployment)["sidecar"]
    env = {e["name"]: e.get("value") for e in app["env"]}
    assert env["GUNICORN_CMD_ARGS"] == "--bind 127.0.0.1:8081" and "ports" not in app
    assert env["QOTM_URL"] == "http://127.0.0.1:9001/" and env["PGHOST"] == "postgres"
    assert sidecar["image"] == read_versions()["ENVOY_IMAGE"]
    assert sidecar["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    service = find(objects, "Service", "usersvc")
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http"}]
    assert {"name": "http", "containerPort": 8080} in sidecar["ports"]
    config = config_file(objects, "usersvc-sidecar", "envoy.yaml")
    assert deployment["spec"]["template"]["metadata"]["annotations"]["checksum/sidecar"] == sha256(config.strip())
    assert_restricted(deployment)


def test_sidecar_forwards_in_to_the_app_and_out_to_qotm_with_timeout_and_retries(objects) -> None:
    config = sidecar_config(objects)
    (ingress,) = listener_routes(config, "ingress")
    assert ingress["route"]["cluster"] == "local_app"
    app = clusters(config)["local_app"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert app["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 8081}
    (egress,) = listener_routes(config, "egress")
    route = egress["route"]
    assert route["cluster"] == "egress-qotm" and route["timeout"] == "1.5s"
    assert route["retry_policy"]["num_retries"] == 2 and route["retry_policy"]["per_try_timeout"] == "0.5s"
    assert "5xx" in route["retry_policy"]["retry_on"]
    assert route["retry_policy"]["retriable_request_headers"] == [{"name": ":method", "string_match": {"exact": "GET"}}]
    qotm = clusters(config)["egress-qotm"]
    assert qotm["cluster_type"]["name"] == "envoy.clusters.dns"
    address = qotm["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert address == {"address": "qotm.shop.svc.cluster.local", "port_value": 8080}


def test_sidecar_with_eds_asks_the_eds_service_for_qotm(tmp_path: Path) -> None:
    config = sidecar_config(usersvc_objects(tmp_path, {"discovery": "eds"}))
    qotm = clusters(config)["egress-qotm"]
    assert qotm["type"] == "EDS" and "load_assignment" not in qotm
    assert qotm["eds_cluster_config"]["service_name"] == "qotm"
    source = qotm["eds_cluster_config"]["eds_config"]["api_config_source"]
    assert source["api_type"] == "REST" and source["cluster_names"] == ["eds"]
    eds = clusters(config)["eds"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert eds["socket_address"] == {"address": "eds.shop.svc.cluster.local", "port_value": 8080}


def test_edge_routes_users_to_the_usersvc_sidecars(tmp_path: Path) -> None:
    config = yaml.safe_load(config_file(render(ENVOY_DIR, tmp_path), "envoy", "envoy.yaml"))
    manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][1]["typed_config"]
    routes = manager["route_config"]["virtual_hosts"][0]["routes"]
    (users,) = [r for r in routes if r["match"].get("prefix") == "/users/"]
    assert users["route"]["weighted_clusters"]["clusters"] == [{"name": "usersvc", "weight": 100}]
    assert users["route"]["prefix_rewrite"] == "/"
    edge_clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    address = edge_clusters["usersvc"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert address["socket_address"] == {"address": "usersvc.shop.svc.cluster.local", "port_value": 8080}


def test_only_usersvc_reaches_postgres_and_usersvc_reaches_qotm(tmp_path: Path) -> None:
    everything = render(REPO, tmp_path)
    usersvc = {"app.kubernetes.io/name": "usersvc", "app.kubernetes.io/instance": "usersvc"}
    assert allowed(everything, usersvc, "qotm", "http")
    assert allowed(everything, ENVOY, "usersvc", "http") and not allowed(everything, OTHER, "usersvc", "http")
    policy = find(everything, "NetworkPolicy", "postgres")["spec"]
    assert policy["ingress"] == [{"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "usersvc"}}}],
                                  "ports": [{"port": "postgres"}]}]


def test_sidecar_tracing_is_switched_by_a_value(objects, tmp_path: Path) -> None:
    assert "zipkin" not in clusters(sidecar_config(objects))
    traced = sidecar_config(usersvc_objects(tmp_path, {"tracing.enabled": "true"}))
    for listener in ("ingress", "egress"):
        (item,) = [i for i in traced["static_resources"]["listeners"] if i["name"] == listener]
        provider = item["filter_chains"][0]["filters"][0]["typed_config"]["tracing"]["provider"]
        assert provider["name"] == "envoy.tracers.zipkin" and provider["typed_config"]["collector_cluster"] == "zipkin"
    address = clusters(traced)["zipkin"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert address["socket_address"] == {"address": "zipkin.shop.svc.cluster.local", "port_value": 9411}
    assert traced["node"]["cluster"] == "usersvc"  # the spans' service name


def test_jaeger_takes_zipkin_spans_where_the_envoys_send_them(tmp_path: Path) -> None:
    objects = render(JAEGER_DIR, tmp_path)
    deployment = find(objects, "Deployment", "jaeger")
    assert containers(deployment)["jaeger"]["image"] == read_versions()["JAEGER_IMAGE"]
    assert_restricted(deployment)
    zipkin = find(objects, "Service", "zipkin")["spec"]["ports"]
    assert zipkin == [{"name": "zipkin", "port": 9411, "targetPort": "zipkin"}]  # the Envoys' `zipkin:9411`
    config = yaml.safe_load(config_file(objects, "jaeger", "config.yaml"))
    assert config["receivers"]["zipkin"]["endpoint"] == "0.0.0.0:9411"
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["jaeger_storage_exporter"]
    assert deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"] == sha256(
        config_file(objects, "jaeger", "config.yaml").strip())
    policy = find(objects, "NetworkPolicy", "jaeger")["spec"]["ingress"]
    assert {s["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for s in policy[0]["from"]} == {"envoy",
                                                                                                     "usersvc"}
