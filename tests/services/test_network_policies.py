"""The NetworkPolicies of everything `forge render .` produces, read the way Kubernetes reads them: who may open a
connection to which pod and port. (Enforcement itself needs a CNI plugin: kind's default one enforces them; the
local control plane of the cluster tier has none, so the cluster tier checks admission only.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.services.rendered import REPO, render

pytestmark = pytest.mark.unit

Labels = dict[str, str]


@pytest.fixture(scope="module")
def objects(tmp_path_factory) -> list[dict[str, Any]]:
    out: Path = tmp_path_factory.mktemp("all")
    return render(REPO, out)


def matches(selector: dict[str, Any], labels: Labels) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def pods(objects: list[dict[str, Any]]) -> dict[str, tuple[Labels, dict[str, int]]]:
    """Deployment name -> (pod labels, named container ports)."""
    found = {}
    for doc in objects:
        if doc["kind"] == "Deployment":
            template = doc["spec"]["template"]
            ports = {p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
            found[doc["metadata"]["name"]] = (template["metadata"]["labels"], ports)
    return found


def allowed(objects: list[dict[str, Any]], source: Labels, target: str, port: str) -> bool:
    """Whether a pod labelled `source` in the namespace may connect to `port` of Deployment `target`'s pods."""
    labels, _ = pods(objects)[target]
    policies = [d["spec"] for d in objects if d["kind"] == "NetworkPolicy" and matches(d["spec"]["podSelector"], labels)
                and "Ingress" in d["spec"]["policyTypes"]]
    if not policies:
        return True  # a pod no policy selects accepts everything
    for policy in policies:
        for rule in policy.get("ingress", []):
            sources = rule.get("from")
            ports = [p["port"] for p in rule.get("ports", [])]
            if (sources is None or any(matches(s.get("podSelector", {}), source) for s in sources)) and \
                    (not ports or port in ports):
                return True
    return False


ENVOY = {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/instance": "envoy"}
PROMETHEUS = {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "prometheus"}
OTHER = {"run": "curl"}  # e.g. `kubectl run curl --image=...` in the workshop namespace


@pytest.mark.parametrize(("source", "target", "port", "expected"), [
    (OTHER, "qotm", "http", False),        # nobody goes around the edge and its auth ...
    (OTHER, "auth", "http", False),
    (PROMETHEUS, "auth", "http", False),
    (ENVOY, "qotm", "http", True),         # ... the edge forwards ...
    (ENVOY, "auth", "http", True),         # ... and asks auth,
    (PROMETHEUS, "qotm", "http", True),    # Prometheus scrapes QOTM's /metrics
    (OTHER, "envoy", "http", True),        # the edge takes traffic from anywhere
    (OTHER, "envoy", "stats", False),      # but its stats only go to Prometheus
    (PROMETHEUS, "envoy", "stats", True),
    (OTHER, "prometheus", "http", True),   # the Prometheus UI
])
def test_who_may_connect_to_whom(objects, source: Labels, target: str, port: str, expected: bool) -> None:
    assert port in pods(objects)[target][1]
    assert allowed(objects, source, target, port) is expected


def test_every_pod_is_selected_by_a_policy_and_the_namespace_denies_by_default(objects) -> None:
    policies = [d for d in objects if d["kind"] == "NetworkPolicy"]
    (deny,) = [p for p in policies if p["metadata"]["name"] == "default-deny-ingress"]
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    for name, (labels, _) in pods(objects).items():
        own = [p for p in policies if p["spec"]["podSelector"] and matches(p["spec"]["podSelector"], labels)]
        assert own, f"no NetworkPolicy of its own selects {name}'s pods"


def test_the_canary_gets_the_same_policy_as_stable(tmp_path) -> None:
    docs = render(REPO / "qotm", tmp_path, canary=True)
    assert allowed(docs, ENVOY, "qotm-canary", "http") and not allowed(docs, OTHER, "qotm-canary", "http")
