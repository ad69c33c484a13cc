"""The per-seat registry design on real nodes: a registry pod behind a NodePort is pushed to from the host through
`kubectl port-forward` (the only way into the cluster a joined participant has) and pulled by containerd on every
node as `localhost:<nodePort>/NAME:TAG`; with htpasswd auth and no TLS, the nodes pull with an imagePullSecret and
are refused without one. Push speed and pull times are printed."""

from __future__ import annotations

import secrets

import pytest
import requests

from tests.class_cluster.cluster import ClassCluster
from tests.class_cluster.pods import ONLY_OWN_NAMESPACE, apply, policy, policy_synced
from tests.class_cluster.registry import (
    REALM,
    deploy,
    htpasswd_line,
    port_forward,
    pull_outcome,
    pull_secret,
    puller,
    push,
    pushed_bytes,
)
from tests.kind import node_image
from tests.platform.base_images import PYTHON_SERVICES, ensure
from tests.shopbox.offline_image import run_checked

pytestmark = pytest.mark.workshop


def test_pushed_through_port_forward_pulled_from_localhost_nodeport_on_every_node(
        class_cluster: ClassCluster, class_namespace: str, report):
    node_port, registry_node = deploy(class_cluster, class_namespace, node_image.registry_image())
    tag = secrets.token_hex(4)
    with port_forward(class_cluster, class_namespace) as port:
        # what a participant pushes: QOTM's base (Python and the services' requirements), not yet on any node
        seconds = push(ensure(PYTHON_SERVICES), f"127.0.0.1:{port}/qotm-base:{tag}")
        size = pushed_bytes(port, "qotm-base", tag)
    image = f"localhost:{node_port}/qotm-base:{tag}"
    apply(class_cluster, class_namespace,
          *(puller(f"pull-{node}", node, image) for node in class_cluster.nodes))
    times = {node: pull_outcome(class_cluster, class_namespace, f"pull-{node}") for node in class_cluster.nodes}
    assert all(outcome == "pulled" for outcome, _ in times.values()), times
    class_cluster.kubectl("wait", "-n", class_namespace, "--for=condition=Ready", "--timeout=60s",
                          *(f"pod/pull-{node}" for node in class_cluster.nodes), timeout=90)
    report(f"push of {size / 2**20:.0f} MiB (compressed) through kubectl port-forward: {seconds:.1f} s, "
           f"{size / 2**20 / seconds:.1f} MiB/s; pulls of {image} (registry pod on {registry_node}): "
           + ", ".join(f"{node} {pulled_seconds:.1f} s" for node, (_, pulled_seconds) in times.items()))


def test_htpasswd_without_tls_pulled_with_an_image_pull_secret_refused_without(
        class_cluster: ClassCluster, class_namespace: str, tmp_path, report):
    user, password = "seat", secrets.token_urlsafe(16)
    node_port, registry_node = deploy(class_cluster, class_namespace, node_image.registry_image(),
                                      htpasswd=htpasswd_line(user, password))
    with port_forward(class_cluster, class_namespace) as port:
        anonymous = requests.get(f"http://127.0.0.1:{port}/v2/", timeout=10)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"] == f'Basic realm="{REALM}"'
        assert requests.get(f"http://127.0.0.1:{port}/v2/", auth=(user, "wrong"), timeout=10).status_code == 401
        assert requests.get(f"http://127.0.0.1:{port}/v2/", auth=(user, password), timeout=10).status_code == 200
        config = tmp_path / "docker-config"  # the host's own ~/.docker stays untouched
        run_checked(["docker", "--config", str(config), "login", f"127.0.0.1:{port}", "-u", user,
                     "--password-stdin"], input=password)
        push(node_image.registry_image(), f"127.0.0.1:{port}/probe:1", docker_config=config)
    image = f"localhost:{node_port}/probe:1"
    node = next(n for n in class_cluster.nodes if n != registry_node)  # through the Service to another node's pod
    apply(class_cluster, class_namespace, pull_secret("seat-registry", f"localhost:{node_port}", user, password),
          puller("with-secret", node, image, pull_secret="seat-registry"), puller("without-secret", node, image))
    with_secret = pull_outcome(class_cluster, class_namespace, "with-secret")
    without = pull_outcome(class_cluster, class_namespace, "without-secret")
    assert with_secret[0] == "pulled", with_secret
    assert without[0] == "failed" and "no basic auth credentials" in str(without[1]), without
    report(f"htpasswd without TLS: anonymous 401, containerd pulled with the imagePullSecret in {with_secret[1]:.1f} s;"
           f" without it: {without[1]}")



def test_under_seat_isolation_other_nodes_pull_only_once_node_addresses_are_allowed(
        class_cluster: ClassCluster, class_namespace: str, report):
    """A NodePort reached on localhost is masqueraded to the node's address: the registry pod sees its own node as
    a local source (kube-router lets that in) and any other node as a foreign address, which an ingress policy
    allowing only the namespace's own pods refuses. A class's registries need the nodes' addresses let in."""
    node_port, registry_node = deploy(class_cluster, class_namespace, node_image.registry_image())
    with port_forward(class_cluster, class_namespace) as port:
        push(node_image.registry_image(), f"127.0.0.1:{port}/probe:1")
    image = f"localhost:{node_port}/probe:1"

    def pulls(prefix: str) -> dict[str, tuple[str, float | str]]:
        nodes = class_cluster.nodes
        apply(class_cluster, class_namespace, *(puller(f"{prefix}-{node}", node, image) for node in nodes))
        return {node: pull_outcome(class_cluster, class_namespace, f"{prefix}-{node}") for node in nodes}

    assert all(outcome == "pulled" for outcome, _ in pulls("open").values())
    apply(class_cluster, class_namespace, ONLY_OWN_NAMESPACE)
    policy_synced(class_cluster, registry_node, class_namespace, ONLY_OWN_NAMESPACE)
    isolated = pulls("isolated")
    assert isolated[registry_node][0] == "pulled", isolated
    assert all(outcome == "failed" for node, (outcome, _) in isolated.items() if node != registry_node), isolated

    from_nodes = policy("registry-from-nodes", {"podSelector": {"matchLabels": {"app": "registry"}}, "ingress": [
        {"from": [{"ipBlock": {"cidr": f"{address}/32"}} for address in class_cluster.nodes.values()],
         "ports": [{"port": 5000}]}]})
    apply(class_cluster, class_namespace, from_nodes)
    policy_synced(class_cluster, registry_node, class_namespace, from_nodes)
    allowed = pulls("allowed")
    assert all(outcome == "pulled" for outcome, _ in allowed.values()), allowed
    report(f"registry pod on {registry_node} under an only-own-namespace ingress policy: pulls "
           + ", ".join(f"{node} {outcome}" for node, (outcome, _) in isolated.items())
           + "; once the nodes' addresses are allowed on port 5000: all pulled")
