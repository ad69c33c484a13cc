"""NetworkPolicy enforced on real pods of the 3-node class cluster (kube-router's firewall), and the routes between
the nodes' pod networks (kube-router's router): each policy is shown not to hold before it is applied, then to hold
after, on the same node and across nodes. Times to enforcement are printed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.class_cluster.cluster import METADATA_BODY, METADATA_IP, ClassCluster
from tests.class_cluster.pods import ONLY_OWN_NAMESPACE, Reach, apply, connect, policy, resolve, run_servers
from tests.cluster.fixtures import fresh_namespace

pytestmark = pytest.mark.workshop


# No pod of the namespace reaches the metadata address; everything else stays open.
NO_METADATA = policy("no-metadata", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
    {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [f"{METADATA_IP}/32"]}}]}]})


def enforced_within(cluster: ClassCluster, what: str, check: Callable[[], bool]) -> float:
    started = time.monotonic()
    cluster.wait_for(what, check, timeout=60, interval=0.5)
    return time.monotonic() - started


@pytest.fixture
def other_namespace(class_cluster: ClassCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_namespace(class_cluster, request)


def test_every_node_routes_to_the_other_nodes_pods(class_cluster: ClassCluster):
    cidrs = {n["metadata"]["name"]: n["spec"]["podCIDR"] for n in class_cluster.kubectl_json("get", "nodes")["items"]}
    assert len(set(cidrs.values())) == 3, cidrs
    for node in class_cluster.nodes:
        routes = class_cluster.node_exec(node, "ip", "-4", "route").stdout
        for other, address in class_cluster.nodes.items():
            if other != node:
                assert f"{cidrs[other]} via {address}" in routes, f"{node} has no route to {other}'s pods:\n{routes}"


def test_ingress_from_another_namespace_is_refused_same_node_and_across_nodes(
        class_cluster: ClassCluster, class_namespace: str, other_namespace: str, report):
    seat, other = class_namespace, other_namespace
    near_node, far_node = class_cluster.workers
    ips = run_servers(class_cluster, seat, {"web": near_node, "peer": far_node})
    run_servers(class_cluster, other, {"near": near_node, "far": far_node})
    # open before the policy: same node, across nodes (pod to pod, and through the Service's DNS name)
    assert connect(class_cluster, other, "near", ips["web"]) == Reach("answer", "web")
    assert connect(class_cluster, other, "far", ips["web"]) == Reach("answer", "web")
    assert connect(class_cluster, other, "far", f"web.{seat}.svc.cluster.local") == Reach("answer", "web")

    apply(class_cluster, seat, ONLY_OWN_NAMESPACE)
    seconds = enforced_within(class_cluster, "the policy refusing another namespace's pod on the same node",
                              lambda: connect(class_cluster, other, "near", ips["web"]).outcome == "refused")
    assert connect(class_cluster, other, "far", ips["web"]).outcome == "refused"
    assert connect(class_cluster, other, "far", f"web.{seat}.svc.cluster.local").outcome == "refused"
    # the seat's own pods (across nodes), its DNS and the way out stay open
    assert connect(class_cluster, seat, "peer", ips["web"]) == Reach("answer", "web")
    assert connect(class_cluster, seat, "web", f"peer.{seat}.svc.cluster.local") == Reach("answer", "peer")
    assert resolve(class_cluster, seat, "web", "kubernetes.default.svc.cluster.local") == "10.96.0.1"
    report(f"ingress policy enforced {seconds:.1f} s after it was applied")


def test_egress_to_the_metadata_address_is_refused_other_egress_works(
        class_cluster: ClassCluster, class_namespace: str, report):
    seat = class_namespace
    node = class_cluster.workers[0]
    ips = run_servers(class_cluster, seat, {"client": node, "peer": class_cluster.workers[1]})
    before = connect(class_cluster, seat, "client", METADATA_IP, 80)
    assert before.outcome == "answer" and METADATA_BODY in before.text  # the fake endpoint on the node answers

    apply(class_cluster, seat, NO_METADATA)
    seconds = enforced_within(class_cluster, "the egress policy refusing the metadata address",
                              lambda: connect(class_cluster, seat, "client", METADATA_IP, 80).outcome == "refused")
    assert connect(class_cluster, seat, "client", ips["peer"]) == Reach("answer", "peer")
    assert connect(class_cluster, seat, "client", f"peer.{seat}.svc.cluster.local") == Reach("answer", "peer")
    assert resolve(class_cluster, seat, "client", "kubernetes.default.svc.cluster.local") == "10.96.0.1"
    report(f"egress policy enforced {seconds:.1f} s after it was applied")
