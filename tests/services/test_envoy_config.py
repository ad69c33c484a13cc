"""The edge proxy as forge renders it: manifests, the Envoy config they carry, and Envoy's own validation."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import yaml

from tests.forge.cli import forge
from tests.services.rendered import ENVOY_DIR, NAMESPACE, config_file, find, render, sha256
from tests.services.stack import binary
from versions_env import read_versions

AUTHZ = "envoy.filters.http.ext_authz"


def envoy_config(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return yaml.safe_load(config_file(objects, "envoy", "envoy.yaml"))


def listener(config: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [item for item in config["static_resources"]["listeners"] if item["name"] == name]
    return found


def http_manager(config: dict[str, Any], name: str) -> dict[str, Any]:
    (manager,) = [f for f in listener(config, name)["filter_chains"][0]["filters"]
                  if f["name"] == "envoy.filters.network.http_connection_manager"]
    return manager["typed_config"]


def routes(config: dict[str, Any], name: str = "edge") -> list[dict[str, Any]]:
    return http_manager(config, name)["route_config"]["virtual_hosts"][0]["routes"]


def clusters(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in config["static_resources"]["clusters"]}


def addresses(cluster: dict[str, Any]) -> list[str]:
    return [
        f"{e['endpoint']['address']['socket_address']['address']}:{e['endpoint']['address']['socket_address']['port_value']}"
        for group in cluster["load_assignment"]["endpoints"]
        for e in group["lb_endpoints"]
    ]


@pytest.fixture(scope="module")
def objects(tmp_path_factory) -> list[dict[str, Any]]:
    return render(ENVOY_DIR, tmp_path_factory.mktemp("envoy"))


@pytest.fixture(scope="module")
def config(objects) -> dict[str, Any]:
    return envoy_config(objects)


@pytest.mark.unit
def test_image_is_the_pinned_official_envoy(objects):
    pinned = read_versions()["ENVOY_IMAGE"]
    assert pinned == yaml.safe_load((ENVOY_DIR / "service.yaml").read_text())["image"]
    assert pinned.startswith("envoyproxy/envoy:v")
    (container,) = find(objects, "Deployment", "envoy")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == pinned


@pytest.mark.unit
def test_manifests_are_configmap_deployment_and_nodeport_service(objects):
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects) == [
        ("ConfigMap", "envoy"), ("Deployment", "envoy"), ("NetworkPolicy", "default-deny-ingress"),
        ("NetworkPolicy", "envoy"), ("Service", "envoy")]
    service = find(objects, "Service", "envoy")
    assert service["spec"]["type"] == "NodePort"
    # Only the edge's traffic port is published on the nodes: stats stay inside the cluster.
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {"http": 8080}
    pod = find(objects, "Deployment", "envoy")["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == ("9102", "/stats/prometheus")
    (container,) = pod["spec"]["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True


@pytest.mark.unit
def test_pods_roll_when_the_config_changes(objects, tmp_path):
    def checksum(rendered: list[dict[str, Any]]) -> str:
        return find(rendered, "Deployment", "envoy")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    text = config_file(objects, "envoy", "envoy.yaml")
    assert checksum(objects) == sha256(text.rstrip("\n"))
    changed = render(ENVOY_DIR, tmp_path, {"timeouts.request": "20s"})
    assert config_file(changed, "envoy", "envoy.yaml") != text
    assert checksum(changed) != checksum(objects)


@pytest.mark.unit
def test_admin_stays_on_loopback_and_stats_listener_exposes_only_prometheus_stats(config):
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    stats = routes(config, "stats")
    assert [r["match"] for r in stats] == [{"path": "/stats/prometheus"}, {"prefix": "/"}]
    assert stats[0]["route"]["cluster"] == "envoy-admin"
    assert stats[1]["direct_response"]["status"] == 404
    admin = clusters(config)["envoy-admin"]
    assert addresses(admin) == [f"127.0.0.1:{config['admin']['address']['socket_address']['port_value']}"]
    buckets = config["stats_config"]["histogram_bucket_settings"][0]
    assert buckets["match"] == {"suffix": "upstream_rq_time"}
    assert {400, 500, 600, 750} <= set(buckets["buckets"])


@pytest.mark.unit
def test_ext_authz_fails_closed_with_503_and_passes_the_user_upstream(config):
    filters = http_manager(config, "edge")["http_filters"]
    names = [f["name"] for f in filters]
    assert names[-1] == "envoy.filters.http.router"
    # A client-sent user header is removed before auth runs: only the auth service names the user.
    assert names.index("envoy.filters.http.header_mutation") < names.index(AUTHZ)
    mutation = filters[names.index("envoy.filters.http.header_mutation")]["typed_config"]
    assert mutation["mutations"]["request_mutations"] == [{"remove": "x-authenticated-as"}]
    authz = filters[names.index(AUTHZ)]["typed_config"]
    assert authz["failure_mode_allow"] is False
    assert authz["status_on_error"] == {"code": "ServiceUnavailable"}
    assert authz["allowed_headers"]["patterns"] == [{"exact": "authorization"}, {"exact": "x-canary"}]
    service = authz["http_service"]
    assert service["server_uri"]["cluster"] == "auth"
    assert service["path_prefix"] == "/check"
    assert service["authorization_response"]["allowed_upstream_headers"]["patterns"] == [
        {"exact": "x-authenticated-as"}]
    assert service["authorization_response"]["allowed_client_headers"]["patterns"] == [
        {"exact": "www-authenticate"}, {"exact": "x-auth-reason"}, {"exact": "retry-after"}, {"exact": "content-type"}]


@pytest.mark.unit
def test_only_the_edge_health_route_skips_auth(config):
    edge = routes(config)
    skipping = [r["match"] for r in edge if AUTHZ in r.get("typed_per_filter_config", {})]
    assert skipping == [{"path": "/healthz"}]
    health = edge[0]
    assert health["typed_per_filter_config"][AUTHZ]["disabled"] is True
    assert health["route"] == {"cluster": "envoy-admin", "prefix_rewrite": "/ready", "timeout": "2s"}


@pytest.mark.unit
def test_routes_come_from_service_yaml_with_canary_pin_and_fallback(config):
    edge = routes(config)
    pinned, weighted = [r for r in edge if r["match"].get("prefix") == "/qotm/"]
    assert pinned["match"]["headers"] == [{"name": "x-canary", "string_match": {"exact": "always"}}]
    assert pinned["route"]["cluster"] == "qotm-canary"
    assert weighted["route"]["weighted_clusters"]["clusters"] == [
        {"name": "qotm", "weight": 90}, {"name": "qotm-canary", "weight": 10}]
    for route in (pinned["route"], weighted["route"]):
        assert route["prefix_rewrite"] == "/"
    # The canary's share is an aggregate cluster: its pods first, the stable pods when none is healthy.
    aggregate = clusters(config)["qotm-canary"]
    assert aggregate["cluster_type"]["name"] == "envoy.clusters.aggregate"
    assert aggregate["cluster_type"]["typed_config"]["clusters"] == ["qotm-canary-pods", "qotm"]


@pytest.mark.unit
def test_internal_paths_are_answered_404_by_the_edge_before_any_route(config):
    edge = routes(config)
    internal = [r for r in edge if "direct_response" in r]
    assert [r["match"] for r in internal] == [{"path": "/qotm/crash"}, {"path": "/qotm/metrics"},
                                                {"path": "/qotm/fault"}]
    assert {r["direct_response"]["status"] for r in internal} == {404}
    first_forward = min(i for i, r in enumerate(edge) if "route" in r and r["match"] != {"path": "/healthz"})
    assert max(edge.index(r) for r in internal) < first_forward
    manager = http_manager(config, "edge")
    assert manager["normalize_path"] is True and manager["merge_slashes"] is True  # /qotm//crash is /qotm/crash


@pytest.mark.unit
def test_edge_hardening_settings(config):
    """Envoy's edge best practices: buffer, connection, header and HTTP/2 limits, overload actions sized to the
    container's memory limit, no server header."""
    for name in ("edge", "stats"):
        assert listener(config, name)["per_connection_buffer_limit_bytes"] == 32768
        first = listener(config, name)["filter_chains"][0]["filters"][0]
        assert first["name"] == "envoy.filters.network.connection_limit"
        assert first["typed_config"]["max_connections"] == 1000
    for cluster in clusters(config).values():
        assert cluster["per_connection_buffer_limit_bytes"] == 32768, cluster["name"]
    manager = http_manager(config, "edge")
    assert manager["max_request_headers_kb"] == 16
    assert manager["http2_protocol_options"] == {"max_concurrent_streams": 100, "initial_stream_window_size": 65536,
                                                 "initial_connection_window_size": 1048576}
    assert manager["server_header_transformation"] == "PASS_THROUGH"
    assert manager["route_config"]["response_headers_to_remove"] == ["server"]
    overload = config["overload_manager"]
    (heap,) = [m for m in overload["resource_monitors"] if m["name"] == "envoy.resource_monitors.fixed_heap"]
    assert heap["typed_config"]["max_heap_size_bytes"] == int(256 * 1024 * 1024 * 0.8)
    assert {a["name"]: a["triggers"][0]["threshold"]["value"] for a in overload["actions"]} == {
        "envoy.overload_actions.shrink_heap": 0.9, "envoy.overload_actions.stop_accepting_requests": 0.95}


@pytest.mark.unit
def test_heap_monitor_follows_the_container_memory_limit(tmp_path):
    objects = render(ENVOY_DIR, tmp_path, {"memory_limit_mib": "512"})
    (container,) = find(objects, "Deployment", "envoy")["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["memory"] == "512Mi"
    assert "cpu" in container["resources"]["limits"]
    assert "ephemeral-storage" in container["resources"]["limits"]
    (heap,) = [m for m in envoy_config(objects)["overload_manager"]["resource_monitors"]
               if m["name"] == "envoy.resource_monitors.fixed_heap"]
    assert heap["typed_config"]["max_heap_size_bytes"] == int(512 * 1024 * 1024 * 0.8)


@pytest.mark.unit
def test_retries_are_bounded_and_only_for_idempotent_methods(config):
    for route in routes(config):
        if "weighted_clusters" in route.get("route", {}) or "x-canary" in str(route["match"]):
            policy = route["route"]["retry_policy"]
            assert set(policy["retry_on"].split(",")) == {"connect-failure", "refused-stream", "reset"}
            assert 1 <= policy["num_retries"] <= 3
            methods = policy["retriable_request_headers"][0]
            assert methods["name"] == ":method"
            regex = methods["string_match"]["safe_regex"]["regex"]
            assert "POST" not in regex and "PATCH" not in regex and "GET" in regex


def http_filters(config: dict[str, Any]) -> list[str]:
    return [f["name"] for f in http_manager(config, "edge")["http_filters"]]


def forwarding_routes(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The routes that forward to QOTM (weighted, and the canary pin)."""
    return [r["route"] for r in routes(config) if "retry_policy" in r.get("route", {})]


def thresholds(cluster: dict[str, Any]) -> dict[str, Any]:
    (found,) = cluster["circuit_breakers"]["thresholds"]
    return found


@pytest.mark.unit
def test_resilience_defaults_keep_envoys_own_limits_and_no_rate_limit(config):
    """The defaults of service.yaml change nothing a participant would notice: Envoy's default circuit breaker
    limits (1024), retries only where the request surely did not run, no rate limit."""
    found = clusters(config)
    for name in ("qotm", "qotm-canary-pods", "qotm-canary"):
        assert thresholds(found[name]) == {
            "max_connections": 1024, "max_pending_requests": 1024, "max_requests": 1024,
            "retry_budget": {"budget_percent": {"value": 50}, "min_retry_concurrency": 64}}, name
    assert "max_requests" not in thresholds(found["auth"])  # a low limit for the exercise never hits auth
    assert "envoy.filters.http.local_ratelimit" not in http_filters(config)
    for route in forwarding_routes(config):
        assert route["timeout"] == "15s" and route["retry_policy"]["per_try_timeout"] == "5s"
    for name in ("qotm", "qotm-canary-pods", "auth"):
        detection = found[name]["outlier_detection"]
        assert detection["consecutive_5xx"] == 5 and detection["base_ejection_time"] == "10s"
        assert detection["successful_active_health_check_uneject_host"] is False


@pytest.mark.unit
def test_resilience_knobs_from_service_yaml(tmp_path):
    rendered = envoy_config(render(ENVOY_DIR, tmp_path, {
        "timeouts": "{connect: 0.25s, request: 0.5s, per_try: 0.2s}",
        "retries.retry_on": "[5xx, reset]", "retries.num_retries": "3", "retries.methods": "[GET]",
        "retries.budget_percent": "20", "retries.min_concurrency": "5",
        "circuit_breakers": "{max_connections: 10, max_pending_requests: 0, max_requests: 4}",
        "outlier_detection.consecutive_5xx": "2", "outlier_detection.base_ejection_time": "30s",
        "local_rate_limit": "{enabled: true, max_tokens: 7, tokens_per_fill: 3, fill_interval: 0.5s}",
    }))
    for route in forwarding_routes(rendered):
        policy = route["retry_policy"]
        assert route["timeout"] == "0.5s" and policy["per_try_timeout"] == "0.2s"
        assert policy["retry_on"] == "5xx,reset" and policy["num_retries"] == 3
        assert policy["retriable_request_headers"][0]["string_match"]["safe_regex"]["regex"] == "GET"
    found = clusters(rendered)
    assert found["qotm"]["connect_timeout"] == "0.25s"
    assert thresholds(found["qotm"]) == {"max_connections": 10, "max_pending_requests": 0, "max_requests": 4,
                                         "retry_budget": {"budget_percent": {"value": 20}, "min_retry_concurrency": 5}}
    assert found["qotm"]["outlier_detection"]["consecutive_5xx"] == 2
    assert found["qotm"]["outlier_detection"]["base_ejection_time"] == "30s"
    # The rate limit runs before auth (a request over the rate costs no auth call) and never on the probe route.
    names = http_filters(rendered)
    assert names.index("envoy.filters.http.local_ratelimit") < names.index(AUTHZ)
    (limit,) = [f["typed_config"] for f in http_manager(rendered, "edge")["http_filters"]
                if f["name"] == "envoy.filters.http.local_ratelimit"]
    assert limit["token_bucket"] == {"max_tokens": 7, "tokens_per_fill": 3, "fill_interval": "0.5s"}
    assert limit["filter_enforced"]["default_value"]["numerator"] == 100
    assert limit["response_headers_to_add"][0]["header"] == {"key": "x-local-rate-limit", "value": "true"}
    (health,) = [r for r in routes(rendered) if r["match"].get("path") == "/healthz"]
    exempt = health["typed_per_filter_config"]["envoy.filters.http.local_ratelimit"]
    assert exempt["filter_enabled"]["default_value"]["numerator"] == 0


@pytest.mark.unit
@pytest.mark.parametrize(("key", "value", "message"), [
    ("retries.methods", "[GET, POST]", "retries.methods[1]: 'POST' is not one of GET, HEAD, OPTIONS, PUT, DELETE"),
    ("retries.retry_on", "[5xx, everything]", "retries.retry_on[1]: 'everything' is not one of connect-failure, "
     "refused-stream, reset, 5xx, gateway-error"),
    ("retries.num_retries", "10", "retries.num_retries: at most 5 expected, got 10"),
    ("timeouts.request", "500ms", "timeouts.request: '500ms' is not a duration in seconds with an s, like 0.5s or 15s"),
    ("circuit_breakers.max_requests", "0", "circuit_breakers.max_requests: at least 1 expected, got 0"),
    ("local_rate_limit.enabled", "yes please", "local_rate_limit.enabled: expected true or false"),
    ("circuit_breakers.max_requets", "4", "circuit_breakers.max_requets: unknown field (known fields: "
     "max_connections, max_pending_requests, max_requests)"),
])
def test_bad_resilience_values_stop_forge_with_one_line_naming_the_field(tmp_path, key, value, message):
    result = forge("render", str(ENVOY_DIR), "-o", str(tmp_path), "--set", f"{key}={value}")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"error: envoy-canary/envoy/service.yaml (with --set): {message}"]
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.unit
def test_upstreams_are_headless_services_discovered_per_pod(config):
    found = clusters(config)
    for name, service in (("qotm", "qotm"), ("qotm-canary-pods", "qotm-canary"), ("auth", "auth")):
        cluster = found[name]
        assert "type" not in cluster  # no deprecated DNS fields: the DNS cluster extension instead
        assert cluster["cluster_type"]["name"] == "envoy.clusters.dns"
        assert cluster["cluster_type"]["typed_config"]["all_addresses_in_single_endpoint"] is False
        assert addresses(cluster) == [f"{service}.{NAMESPACE}.svc.cluster.local:8080"]
        (check,) = cluster["health_checks"]
        assert check["http_health_check"]["path"] == "/health"
        assert cluster["outlier_detection"]["consecutive_local_origin_failure"] >= 1


@pytest.mark.unit
def test_other_routes_and_loopback_upstreams_from_values(tmp_path):
    rendered = envoy_config(render(ENVOY_DIR, tmp_path, {
        "routes": '{"/api/": {api: 100}, "/qotm/": {qotm: 50, qotm-canary: 50}}',
        "upstreams.api": "[10.0.0.7:9000]",
        "upstreams.qotm": "[127.0.0.1:5000,127.0.0.1:5001]",
    }))
    by_prefix = {r["match"]["prefix"]: r["route"] for r in routes(rendered) if "headers" not in r["match"]
                 and "prefix" in r["match"]}
    assert by_prefix["/api/"]["weighted_clusters"]["clusters"] == [{"name": "api", "weight": 100}]
    assert by_prefix["/qotm/"]["weighted_clusters"]["clusters"] == [
        {"name": "qotm", "weight": 50}, {"name": "qotm-canary", "weight": 50}]
    found = clusters(rendered)
    assert addresses(found["api"]) == ["10.0.0.7:9000"]
    assert addresses(found["qotm"]) == ["127.0.0.1:5000", "127.0.0.1:5001"]
    assert "api-canary" not in found


@pytest.mark.unit
def test_tracing_is_switched_by_a_value(config, tmp_path):
    assert "tracing" not in http_manager(config, "edge")
    assert "zipkin" not in clusters(config)
    traced = envoy_config(render(ENVOY_DIR, tmp_path, {"tracing.enabled": "true"}))
    provider = http_manager(traced, "edge")["tracing"]["provider"]
    assert provider["name"] == "envoy.tracers.zipkin"
    assert provider["typed_config"]["collector_cluster"] == "zipkin"
    assert addresses(clusters(traced)["zipkin"]) == [f"zipkin.{NAMESPACE}.svc.cluster.local:9411"]


VARIANTS = {
    "defaults": {},
    "tracing": {"tracing.enabled": "true"},
    "loopback": {"upstreams.qotm": "[127.0.0.1:5000,127.0.0.1:5001]", "listener.address": "127.0.0.1",
                 "health_check.interval": "1s"},
    "resilience": {"retries.retry_on": "[5xx, gateway-error, reset]", "timeouts.request": "0.5s",
                   "circuit_breakers.max_requests": "4", "local_rate_limit.enabled": "true"},
}


@pytest.mark.dataplane
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_envoy_accepts_the_rendered_config_without_deprecation_warnings(variant, tmp_path):
    envoy = binary("envoy")
    path = tmp_path / "envoy.yaml"
    path.write_text(config_file(render(ENVOY_DIR, tmp_path / "out", VARIANTS[variant]), "envoy", "envoy.yaml"))
    result = subprocess.run([envoy, "--mode", "validate", "-c", str(path)], capture_output=True, text=True,
                            timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"configuration '{path}' OK" in output
    assert "deprecated" not in output.lower(), output
    assert "][warning][" not in output and "][error][" not in output, output


@pytest.mark.dataplane
def test_envoy_rejects_a_broken_config(tmp_path):
    """The validation above can fail: a route to a cluster that does not exist is refused."""
    envoy = binary("envoy")
    objects = render(ENVOY_DIR, tmp_path / "out")
    broken = config_file(objects, "envoy", "envoy.yaml").replace("cluster: qotm-canary\n", "cluster: nowhere\n")
    path = tmp_path / "broken.yaml"
    assert broken != config_file(objects, "envoy", "envoy.yaml")
    path.write_text(broken)
    result = subprocess.run([envoy, "--mode", "validate", "-c", str(path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0
    assert "nowhere" in result.stdout + result.stderr
