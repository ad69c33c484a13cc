"""Prometheus for the canary exercise as forge renders it: manifests, config, rules, console page, promtool."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.platform import base_images
from tests.platform.fixtures import require
from tests.services.rendered import (
    NAMESPACE,
    PROMETHEUS_DIR,
    config_file,
    find,
    render,
    write_config_files,
)
from tests.services.stack import binary
from versions_env import read_versions

STATIC = {"static_targets": '{envoy: {path: /stats/prometheus, targets: ["127.0.0.1:9102"]}}'}
RECORDED = {
    "envoy_cluster_name:upstream_rq_completed:rate1m",
    "envoy_cluster_name:upstream_rq_completed:share1m",
    "envoy_cluster_name:upstream_rq_time_ms:p50_1m",
    "envoy_cluster_name:upstream_rq_time_ms:p95_1m",
    "envoy_cluster_name:upstream_rq_5xx:ratio_rate1m",
}


@pytest.fixture(scope="module")
def objects(tmp_path_factory) -> list[dict[str, Any]]:
    return render(PROMETHEUS_DIR, tmp_path_factory.mktemp("prometheus"))


def prometheus_yml(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return yaml.safe_load(config_file(objects, "prometheus", "prometheus.yml"))


def rules(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups = yaml.safe_load(config_file(objects, "prometheus", "rules.yml"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


@pytest.mark.unit
def test_image_is_the_pinned_official_prometheus(objects):
    pinned = read_versions()["PROMETHEUS_IMAGE"]
    assert pinned == yaml.safe_load((PROMETHEUS_DIR / "service.yaml").read_text())["image"]
    assert pinned.startswith("prom/prometheus:v")
    (container,) = find(objects, "Deployment", "prometheus")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == pinned


@pytest.mark.unit
def test_manifests_with_namespaced_rbac_and_a_nodeport_ui(objects):
    assert sorted(o["kind"] for o in objects) == [
        "ConfigMap", "Deployment", "NetworkPolicy", "Role", "RoleBinding", "Service", "ServiceAccount"]
    role = find(objects, "Role", "prometheus")
    pods = [rule for rule in role["rules"] if "pods" in rule["resources"]]
    assert pods and set(pods[0]["verbs"]) == {"get", "list", "watch"}
    binding = find(objects, "RoleBinding", "prometheus")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "prometheus"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "prometheus", "namespace": NAMESPACE}]
    pod = find(objects, "Deployment", "prometheus")["spec"]["template"]
    assert pod["spec"]["serviceAccountName"] == "prometheus"
    service = find(objects, "Service", "prometheus")
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]
    assert "--web.console.templates=/etc/prometheus/consoles" in container["args"]


@pytest.mark.unit
def test_pods_roll_when_config_rules_or_console_change(objects, tmp_path):
    def checksum(rendered: list[dict[str, Any]]) -> str:
        deployment = find(rendered, "Deployment", "prometheus")
        return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert re.fullmatch(r"[0-9a-f]{64}", checksum(objects))
    assert checksum(render(PROMETHEUS_DIR, tmp_path / "a", {"scrape_interval": "10s"})) != checksum(objects)
    assert checksum(render(PROMETHEUS_DIR, tmp_path / "b", {"services": "[qotm, shop]"})) != checksum(objects)


@pytest.mark.unit
def test_discovers_annotated_pods_in_the_build_namespace_every_5s(objects):
    config = prometheus_yml(objects)
    assert config["global"]["scrape_interval"] == "5s"
    assert config["rule_files"] == ["rules.yml"]
    (job,) = config["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": [NAMESPACE]}}]
    keep = job["relabel_configs"][0]
    assert keep == {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
                    "regex": "true", "action": "keep"}
    targets = {r.get("target_label") for r in job["relabel_configs"]}
    assert {"__metrics_path__", "__address__"} <= targets


@pytest.mark.unit
def test_static_loopback_targets_replace_discovery(tmp_path):
    (job,) = prometheus_yml(render(PROMETHEUS_DIR, tmp_path, STATIC))["scrape_configs"]
    assert job == {"job_name": "envoy", "metrics_path": "/stats/prometheus",
                   "static_configs": [{"targets": ["127.0.0.1:9102"]}]}


@pytest.mark.unit
def test_rules_compare_stable_and_canary_of_each_listed_service(objects, tmp_path):
    recorded = {r["record"]: r["expr"] for r in rules(objects) if "record" in r}
    assert set(recorded) == RECORDED
    for name in ("upstream_rq_completed:rate1m", "upstream_rq_time_ms:p50_1m", "upstream_rq_time_ms:p95_1m",
                 "upstream_rq_5xx:ratio_rate1m"):
        assert 'envoy_cluster_name=~"(qotm)(-canary)?"' in recorded[f"envoy_cluster_name:{name}"], name
    assert "histogram_quantile(0.95" in recorded["envoy_cluster_name:upstream_rq_time_ms:p95_1m"]
    assert "envoy_cluster_upstream_rq_time_bucket" in recorded["envoy_cluster_name:upstream_rq_time_ms:p95_1m"]
    alerts = {r["alert"] for r in rules(objects) if "alert" in r}
    assert alerts == {"CanarySlowerThanStable", "CanaryErrors"}
    more = {r["record"]: r["expr"] for r in rules(render(PROMETHEUS_DIR, tmp_path, {"services": "[qotm, shop]"}))
            if "record" in r}
    assert 'envoy_cluster_name=~"(qotm|shop)(-canary)?"' in more["envoy_cluster_name:upstream_rq_completed:rate1m"]


@pytest.mark.unit
def test_queries_md_documents_every_recording_rule():
    text = (PROMETHEUS_DIR / "queries.md").read_text()
    for name in RECORDED:
        assert f"`{name}`" in text
    assert "envoy_cluster_qotm_upstream_rq_time_timer" in text  # the 2017 query, named as replaced


@pytest.mark.unit
def test_console_page_defaults_to_the_first_service(objects):
    page = config_file(objects, "prometheus", "canary.html")
    assert page.startswith('{{ $service := or .Params.service "qotm" }}')
    assert "{% raw %}" not in page and "{%" not in page
    for rule in ("upstream_rq_time_ms:p95_1m", "upstream_rq_completed:share1m", "upstream_rq_5xx:ratio_rate1m"):
        assert rule in page


def promtool_with_kubernetes_sd() -> str:
    """promtool of the pinned Prometheus version with Kubernetes discovery, as tests/services/build_prometheus.sh
    builds it (SHOPBOX_PROMTOOL overrides the path)."""
    version = read_versions()["PROMETHEUS_IMAGE"].rsplit(":v", 1)[1]
    path = Path(os.environ.get("SHOPBOX_PROMTOOL") or base_images.CACHE / f"prometheus-{version}" / "promtool")
    require(path.is_file(), f"{path} is missing: run tests/services/build_prometheus.sh (Debian's promtool has no "
                            "Kubernetes discovery, so it cannot check the cluster's config)")
    return str(path)


def promtool_check(promtool: str, what: str, path: Path) -> str:
    result = subprocess.run([promtool, "check", what, str(path)], capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


@pytest.mark.dataplane
def test_promtool_accepts_the_rendered_rules(objects, tmp_path):
    directory = write_config_files(objects, "prometheus", tmp_path)
    assert "SUCCESS: 7 rules found" in promtool_check(binary("promtool"), "rules", directory / "rules.yml")


@pytest.mark.dataplane
def test_promtool_accepts_the_rendered_loopback_config_and_its_rules(tmp_path):
    directory = write_config_files(render(PROMETHEUS_DIR, tmp_path / "out", STATIC), "prometheus", tmp_path / "cm")
    output = promtool_check(binary("promtool"), "config", directory / "prometheus.yml")
    assert "SUCCESS: 7 rules found" in output


@pytest.mark.dataplane
def test_promtool_of_the_pinned_version_accepts_the_kubernetes_config(objects, tmp_path):
    """The cluster's config (pod discovery) needs a promtool with Kubernetes discovery: Debian's has none."""
    directory = write_config_files(objects, "prometheus", tmp_path)
    promtool = promtool_with_kubernetes_sd()
    output = promtool_check(promtool, "config", directory / "prometheus.yml")
    assert "SUCCESS: 7 rules found" in output
