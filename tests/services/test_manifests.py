"""The services' Kubernetes manifests as forge renders them (qotm/k8s, envoy-canary/auth/k8s) and the plain ones
of the kubectl exercises (qotm/kubernetes): schema-valid, and wired the way the edge and Prometheus rely on."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from forge.errors import ForgeError
from forge.manifests.render import render
from forge.manifests.validate import pinned_kubernetes_version, schema_version, validate
from forge.model import Build, Manifest
from forge.plan import plan
from tests.services.apps import AUTH_DIR, QOTM_DIR

pytestmark = pytest.mark.unit

REGISTRY = "localhost:5001"
CREDENTIALS = "alice:tok-alice-123\n"


def rendered(path, profile: str, env: dict[str, str] | None = None) -> tuple[Build, dict[tuple[str, str], dict]]:
    """forge's build and its validated manifests, by (kind, name)."""
    env = env or {}
    (build,) = plan(path, profile=profile, registry=REGISTRY, env=env)
    manifests: list[Manifest] = render([build], env=env)
    validate(manifests)  # raises ForgeError on any schema problem
    return build, {(m.kind, m.name): m.doc for m in manifests}


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(deployment)["env"]}


def assert_hardened_with_health_probes(deployment: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    main = container(deployment)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert {"name": "tmp", "mountPath": "/tmp"} in main["volumeMounts"]  # gunicorn's only writable place
    assert {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}} in pod["volumes"]
    assert main["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    # distinct probes: ready = answers HTTP; alive = accepts connections (a busy pod leaves rotation, is not killed)
    assert main["livenessProbe"]["tcpSocket"] == {"port": "http"}
    assert main["ports"] == [{"name": "http", "containerPort": 8080}]
    assert set(main["resources"]["requests"]) == set(main["resources"]["limits"]) == {"cpu", "memory",
                                                                                      "ephemeral-storage"}
    assert pod["automountServiceAccountToken"] is False  # no Kubernetes API access needed: no token mounted


@pytest.fixture(scope="module")
def qotm_stable() -> tuple[Build, dict]:
    return rendered(QOTM_DIR, "default")


@pytest.fixture(scope="module")
def qotm_canary() -> tuple[Build, dict]:
    return rendered(QOTM_DIR, "canary")


@pytest.mark.parametrize(
    ("fixture", "name", "track", "replicas", "delay"),
    [("qotm_stable", "qotm", "stable", 2, "0"), ("qotm_canary", "qotm-canary", "canary", 1, "0")],
)
def test_qotm_deployment(request: pytest.FixtureRequest, fixture: str, name: str, track: str, replicas: int,
                         delay: str) -> None:
    build, docs = request.getfixturevalue(fixture)
    assert set(docs) == {("Deployment", name), ("Service", name), ("NetworkPolicy", name),
                         ("PodDisruptionBudget", name)}
    deployment = docs["Deployment", name]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/instance": name}
    assert pod_labels["shopbox.io/track"] == deployment["metadata"]["labels"]["shopbox.io/track"] == track
    assert deployment["spec"]["replicas"] == replicas
    assert container(deployment)["image"] == f"{REGISTRY}/qotm:{build.version}"
    assert env_of(deployment) == {"QOTM_VERSION": build.version, "QOTM_DELAY": delay, "QOTM_FAIL_PERCENT": "0",
                                  "LOG_LEVEL": "info"}
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"}
    assert_hardened_with_health_probes(deployment)


@pytest.mark.parametrize("fixture", ["qotm_stable", "qotm_canary"])
def test_qotm_service_is_headless_on_its_own_pods(request: pytest.FixtureRequest, fixture: str) -> None:
    build, docs = request.getfixturevalue(fixture)
    service = docs["Service", build.name]
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http"}]
    pod_labels = docs["Deployment", build.name]["spec"]["template"]["metadata"]["labels"]
    assert selects(service["spec"]["selector"], pod_labels)


def test_stable_and_canary_never_select_each_others_pods(qotm_stable, qotm_canary) -> None:
    (stable_build, stable), (canary_build, canary) = qotm_stable, qotm_canary
    stable_pods = stable["Deployment", "qotm"]["spec"]["template"]["metadata"]["labels"]
    canary_pods = canary["Deployment", "qotm-canary"]["spec"]["template"]["metadata"]["labels"]
    for selector in (stable["Deployment", "qotm"]["spec"]["selector"]["matchLabels"],
                     stable["Service", "qotm"]["spec"]["selector"]):
        assert selects(selector, stable_pods) and not selects(selector, canary_pods)
    for selector in (canary["Deployment", "qotm-canary"]["spec"]["selector"]["matchLabels"],
                     canary["Service", "qotm-canary"]["spec"]["selector"]):
        assert selects(selector, canary_pods) and not selects(selector, stable_pods)
    assert stable_build.version == canary_build.version  # same image: only the profile differs


def test_auth_default_profile_allows_everyone_without_a_secret() -> None:
    build, docs = rendered(AUTH_DIR, "default")
    assert set(docs) == {("Deployment", "auth"), ("Service", "auth"), ("NetworkPolicy", "auth")}
    deployment = docs["Deployment", "auth"]
    assert env_of(deployment) == {"AUTH_MODE": "allow"}
    assert container(deployment)["image"] == f"{REGISTRY}/auth:{build.version}"
    assert [v["name"] for v in deployment["spec"]["template"]["spec"]["volumes"]] == ["tmp"]
    assert_hardened_with_health_probes(deployment)
    service = docs["Service", "auth"]
    assert service["spec"]["clusterIP"] == "None"
    assert selects(service["spec"]["selector"], deployment["spec"]["template"]["metadata"]["labels"])


@pytest.mark.parametrize(("profile", "variable"), [("token", "AUTH_TOKENS_FILE"), ("basic", "AUTH_USERS_FILE")])
def test_auth_credentials_come_from_a_secret_rendered_from_the_environment(profile: str, variable: str) -> None:
    _, docs = rendered(AUTH_DIR, profile, env={"AUTH_CREDENTIALS": CREDENTIALS})
    secret = docs["Secret", "auth-credentials"]
    assert secret["stringData"] == {"credentials": CREDENTIALS}
    deployment = docs["Deployment", "auth"]
    assert env_of(deployment) == {"AUTH_MODE": profile, variable: "/etc/auth/credentials"}
    assert_hardened_with_health_probes(deployment)
    pod = deployment["spec"]["template"]["spec"]
    assert {"name": "credentials", "secret": {"secretName": "auth-credentials", "defaultMode": 0o440}} in pod["volumes"]
    assert {"name": "credentials", "mountPath": "/etc/auth", "readOnly": True} in container(deployment)["volumeMounts"]
    assert pod["securityContext"]["fsGroup"] == 10001  # the non-root user can read the 0440 file
    # a new Secret content changes the pod template, so the pods restart and read it
    _, changed = rendered(AUTH_DIR, profile, env={"AUTH_CREDENTIALS": "bob:tok-bob-456\n"})
    assert (changed["Deployment", "auth"]["spec"]["template"]["metadata"]["annotations"]
            != deployment["spec"]["template"]["metadata"]["annotations"])


def test_auth_token_profile_without_credentials_names_the_missing_variable() -> None:
    with pytest.raises(ForgeError) as exc:
        rendered(AUTH_DIR, "token", env={})
    assert "envoy-canary/auth/k8s/" in str(exc.value)
    assert "AUTH_CREDENTIALS" in str(exc.value)


# --- qotm/kubernetes: the plain manifests of the kubectl exercises -----------------------------------------------


def test_plain_manifests_are_valid_and_name_the_registry_as_the_shell_does() -> None:
    """Exercise 3 applies them with `envsubst < FILE | kubectl apply -f -`: the image names ${REGISTRY} (the
    registry the cluster pulls from, exported by the shopbox shell); the Service is the participant's to write."""
    version = schema_version(pinned_kubernetes_version(QOTM_DIR))
    docs = {}
    for path in sorted((QOTM_DIR / "kubernetes").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            kubernetes_validate.validate(doc, version, strict=True)
            docs[doc["kind"]] = doc
    assert set(docs) == {"Deployment", "Pod", "NetworkPolicy"}
    deployment, pod, policy = docs["Deployment"], docs["Pod"], docs["NetworkPolicy"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selects(deployment["spec"]["selector"]["matchLabels"], pod_labels)
    assert not selects(pod_labels, pod["metadata"]["labels"])  # the bare pod is no replica of the Deployment
    for spec in (deployment["spec"]["template"]["spec"], pod["spec"]):
        assert spec["containers"][0]["image"] == "${REGISTRY}/qotm:1.0"
        assert spec["securityContext"]["runAsNonRoot"] is True
    # The policy lets the Deployment's pods call each other on their port (step 3.4 in a classroom seat, which
    # refuses what no policy admits) and is as narrow as a seat admits: podSelector-only sources, no egress.
    replicas = deployment["spec"]["template"]
    assert selects(policy["spec"]["podSelector"]["matchLabels"], replicas["metadata"]["labels"])
    assert policy["spec"]["policyTypes"] == ["Ingress"] and "egress" not in policy["spec"]
    (rule,) = policy["spec"]["ingress"]
    assert [set(source) for source in rule["from"]] == [{"podSelector"}]
    assert selects(rule["from"][0]["podSelector"]["matchLabels"], replicas["metadata"]["labels"])
    assert [port["port"] for port in rule["ports"]] == [replicas["spec"]["containers"][0]["ports"][0]["containerPort"]]
