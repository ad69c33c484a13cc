"""forge.cluster.references: which Secrets and ConfigMaps a pod spec needs (the deploy-level behaviour is in
test_deploy_fakes.py and tests/forge/test_deploy_cluster.py)."""

from __future__ import annotations

from typing import Any

import pytest

from forge.cluster.references import Reference, pod_spec, references

pytestmark = pytest.mark.unit

SPEC: dict[str, Any] = {
    "initContainers": [{"name": "migrate", "envFrom": [{"secretRef": {"name": "db"}}]}],
    "containers": [{
        "name": "app",
        "env": [
            {"name": "PLAIN", "value": "x"},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
            {"name": "MAYBE", "valueFrom": {"secretKeyRef": {"name": "extra", "key": "k", "optional": True}}},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        "envFrom": [{"configMapRef": {"name": "defaults", "optional": True}}, {"configMapRef": {"name": "common"}}],
    }],
    "volumes": [
        {"name": "tls", "secret": {"secretName": "tls"}},
        {"name": "opt", "secret": {"secretName": "maybe", "optional": True}},
        {"name": "conf", "configMap": {"name": "conf"}},
        {"name": "both", "projected": {"sources": [{"secret": {"name": "p-secret"}},
                                                   {"configMap": {"name": "p-conf", "optional": True}},
                                                   {"serviceAccountToken": {"path": "token"}}]}},
        {"name": "tmp", "emptyDir": {}},
    ],
}


def test_every_required_reference_and_no_optional_one():
    assert list(references(SPEC)) == [
        Reference("Secret", "db", "envFrom of container migrate"),
        Reference("Secret", "db", "env PW of container app", "password"),
        Reference("ConfigMap", "settings", "env MODE of container app", "mode"),
        Reference("ConfigMap", "common", "envFrom of container app"),
        Reference("Secret", "tls", "volume tls"),
        Reference("ConfigMap", "conf", "volume conf"),
        Reference("Secret", "p-secret", "volume both"),
    ]


@pytest.mark.parametrize("doc", [
    {"kind": "Pod", "spec": SPEC},
    {"kind": "Deployment", "spec": {"template": {"spec": SPEC}}},
    {"kind": "StatefulSet", "spec": {"template": {"spec": SPEC}}},
    {"kind": "Job", "spec": {"template": {"spec": SPEC}}},
    {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": SPEC}}}}},
])
def test_pod_spec_of_each_workload_kind(doc: dict[str, Any]):
    assert pod_spec(doc) is SPEC


@pytest.mark.parametrize("doc", [
    {"kind": "ConfigMap", "data": {}},
    {"kind": "Service", "spec": {"template": {"spec": SPEC}}},  # not a workload, whatever its spec says
    {"kind": "Deployment", "spec": None},
    {"kind": "CronJob", "spec": {"jobTemplate": None}},
])
def test_no_pod_spec(doc: dict[str, Any]):
    assert pod_spec(doc) is None
