"""What a joined participant's container reaches of the class cluster: the API server and nothing else, as on a
managed cloud cluster whose nodes laptops cannot reach. The container is the shopbox shell image on Docker's default
`bridge` network (not the class's network, not the host's), with the instructor's kubeconfig; every refusal is set
against the same address or port answering from the host, so a failure to connect at all cannot pass for it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.class_cluster.cluster import ClassCluster
from tests.class_cluster.pods import apply, run_servers, service
from tests.shopbox import offline_image

pytestmark = pytest.mark.workshop

# bash's /dev/tcp: CONNECTED when a TCP connection to $0:$1 opens within 3 s, else UNREACHABLE
TCP = 'if timeout 3 bash -c "exec 3<>/dev/tcp/$0/$1"; then echo CONNECTED; else echo UNREACHABLE; fi'


def in_joined_container(shell: str, kubeconfig: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """SCRIPT in the shell image SHELL on Docker's bridge network, with KUBECONFIG."""
    return subprocess.run(["docker", "run", "--rm", "--network", "bridge", "--entrypoint", "bash",
                           "-v", f"{kubeconfig}:/run/class/kubeconfig:ro", "-e", "KUBECONFIG=/run/class/kubeconfig",
                           shell, "-c", script, *args],
                          capture_output=True, text=True, timeout=120)


def from_host(host: str, port: int) -> bool:
    return subprocess.run(["bash", "-c", TCP, host, str(port)], capture_output=True, text=True,
                          timeout=30).stdout.strip() == "CONNECTED"


def test_a_joined_container_reaches_the_api_server_and_no_node(class_cluster: ClassCluster, class_namespace: str):
    api = urlsplit(class_cluster.server)
    node, address = class_cluster.workers[0], class_cluster.nodes[class_cluster.workers[0]]
    run_servers(class_cluster, class_namespace, {"web": node})
    apply(class_cluster, class_namespace, service("web", node_port=True))
    web = class_cluster.kubectl_json("get", "service", "web", "-n", class_namespace)
    node_port = web["spec"]["ports"][0]["nodePort"]
    targets = {"the API server on its node": (class_cluster.nodes[class_cluster.control_plane], 6443),
               "a kubelet": (address, 10250), "a NodePort on a node": (address, node_port)}
    for what, (host, port) in targets.items():  # kube-proxy programs a new NodePort in its next sync (seconds)
        class_cluster.wait_for(f"{what} ({host}:{port}) answering from the host",
                               lambda host=host, port=port: from_host(host, port), timeout=60)

    shell = offline_image.build()
    api_ok = in_joined_container(shell, class_cluster.kubeconfig,
                                 "kubectl get --raw /readyz && echo && kubectl get nodes -o name")
    assert api_ok.returncode == 0, api_ok.stderr
    assert api_ok.stdout.split() == ["ok", *(f"node/{name}" for name in sorted(class_cluster.nodes))]
    for what, (host, port) in {**targets, "a NodePort on the API server's address": (api.hostname, node_port)}.items():
        proc = in_joined_container(shell, class_cluster.kubeconfig, TCP, host, str(port))
        assert proc.stdout.strip() == "UNREACHABLE", f"a joined container reached {what} ({host}:{port}): {proc}"
