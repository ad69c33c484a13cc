"""The offline node image's pod network (/kind/manifests/default-cni.yaml): kube-router at the pinned version with
its router and firewall on and its service proxy off (the advisory against v2.1.0 concerns the proxy), and a CNI
configuration it can complete with each node's podCIDR. Enforcement itself is tested on real pods
(tests/class_cluster/test_network_policy.py)."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.kind.node_image import CNI_MANIFEST, pins

pytestmark = pytest.mark.unit

DOCS = {doc["kind"]: doc for doc in yaml.safe_load_all(CNI_MANIFEST.read_text()) if doc}
POD = DOCS["DaemonSet"]["spec"]["template"]["spec"]
ROUTER = POD["containers"][0]


def test_kube_router_is_the_pinned_version_and_runs_on_every_node():
    assert {c["image"] for c in POD["initContainers"] + POD["containers"]} == {
        f"shopbox-test/kube-router:v{pins()['KUBE_ROUTER_VERSION']}"}
    assert POD["hostNetwork"] is True and POD["tolerations"] == [{"operator": "Exists"}]


def test_router_and_firewall_on_service_proxy_off():
    args = dict(arg.removeprefix("--").split("=", 1) for arg in ROUTER["args"])
    assert args["run-router"] == "true" and args["run-firewall"] == "true" and args["enable-cni"] == "true"
    assert args["run-service-proxy"] == "false"  # kube-router's default is true


def test_cni_configuration_is_a_bridge_that_kube_router_completes():
    conflist = json.loads(DOCS["ConfigMap"]["data"]["10-kuberouter.conflist"])
    bridge = conflist["plugins"][0]
    assert bridge["type"] == "bridge" and bridge["ipam"] == {"type": "host-local"}  # no ranges: the node's podCIDR
    env = {e["name"]: e.get("value") for e in ROUTER["env"]}
    assert env["KUBE_ROUTER_CNI_CONF_FILE"] == "/etc/cni/net.d/10-kuberouter.conflist"


def test_rbac_is_read_only():
    assert DOCS["ClusterRoleBinding"]["subjects"][0]["name"] == POD["serviceAccountName"] == "kube-router"
    assert {verb for rule in DOCS["ClusterRole"]["rules"] for verb in rule["verbs"]} == {"get", "list", "watch"}
