"""The class tests' cluster: a real 3-node kind cluster (one control plane, two workers) from the offline node image
(kube-router: routes between the nodes' pod networks, NetworkPolicy enforced), created the way a kind-based class is
(`shopbox_setup.generated.class_kind_config`), on its own Docker network.

A joined participant's container, on any other Docker network, reaches the API server and nothing else: the API
server is published on the gateway of Docker's default `bridge` network, no NodePort is published, and Docker keeps
its networks apart, as on a managed cloud cluster whose nodes are not reachable from laptops.

Every node also answers HTTP on 169.254.169.254:80 (a fake cloud metadata endpoint: the address on the node's
loopback, socat behind it), so that a policy blocking the metadata address is seen as a refusal, not a timeout to
nowhere. The registry image of the test versions file (REGISTRY_IMAGE) is loaded in every node.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from shopbox_setup.engine import cgroup_version
from shopbox_setup.generated import class_kind_config
from shopbox_setup.runner import Commands
from tests.cluster.launcher import KubeCluster
from tests.kind import node_image
from tests.platform.procs import free_port
from tests.shopbox.offline_image import kind_binary, run_checked

NAME = "shopbox-class"
NETWORK = NAME
WORKERS = 2
METADATA_IP = "169.254.169.254"
METADATA_BODY = "shopbox fake metadata"
KEEP = "SHOPBOX_CLASS_KEEP"  # =1: keep the cluster after the run, and reuse it in the next (a developer's loop)


def keep() -> bool:
    return os.environ.get(KEEP) == "1"


def _kind(*args: str, stdin: str | None = None, timeout: float = 600) -> str:
    env = {**os.environ, "KIND_EXPERIMENTAL_DOCKER_NETWORK": NETWORK}
    return run_checked([str(kind_binary()), *args], input=stdin, env=env, timeout=timeout).stdout


def bridge_gateway() -> str:
    """The address of this machine on Docker's default bridge network: containers on it reach it."""
    out = run_checked(["docker", "network", "inspect", "bridge", "--format",
                       '{{range .IPAM.Config}}{{.Gateway}} {{end}}'
                       '{{index .Options "com.docker.network.bridge.name"}}']).stdout.split()
    if len(out) > 1:
        return out[0]
    # the default bridge often records no gateway: its interface's address is the gateway
    addresses = run_checked(["ip", "-4", "-o", "addr", "show", "dev", out[0]]).stdout.split()
    if "inet" not in addresses:
        raise RuntimeError(f"Docker's bridge network has no IPv4 gateway address (interface {out[0]})")
    return addresses[addresses.index("inet") + 1].split("/")[0]


def node_containers() -> dict[str, str]:
    """The cluster's node containers, name -> image."""
    out = run_checked(["docker", "ps", "-a", "--filter", f"label=io.x-k8s.kind.cluster={NAME}",
                       "--format", "{{.Names}} {{.Image}}"]).stdout
    return dict(sorted(line.split(" ", 1) for line in out.splitlines() if line))


class ClassCluster(KubeCluster):
    """The cluster, reached with the instructor's (admin) kubeconfig: .kubectl(), .kubectl_json(), .wait_for() as
    the `cluster` tier's clusters, plus its nodes and their addresses."""

    def __init__(self, kubeconfig: Path) -> None:
        super().__init__(kubeconfig)
        self.timings: dict[str, float] = {}
        self.memory_at_rest = 0.0  # MiB, all nodes, once the pod network is ready and before any test
        config = yaml.safe_load(kubeconfig.read_text())
        self.server: str = config["clusters"][0]["cluster"]["server"]  # https://<bridge gateway>:<port>
        self.nodes: dict[str, str] = {  # name -> InternalIP (its address on the class's Docker network)
            node["metadata"]["name"]: next(a["address"] for a in node["status"]["addresses"]
                                           if a["type"] == "InternalIP")
            for node in self.kubectl_json("get", "nodes")["items"]}

    @property
    def control_plane(self) -> str:
        return f"{NAME}-control-plane"

    @property
    def workers(self) -> list[str]:
        return sorted(name for name in self.nodes if name != self.control_plane)

    def node_exec(self, node: str, *command: str, check: bool = True,
                  timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """COMMAND on the node itself (docker exec): its containerd, iptables, routes."""
        argv = ["docker", "exec", node, *command]
        return run_checked(argv, timeout=timeout) if check else subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout)

    def load_images(self, *images: str) -> None:
        """Side-load images from the test engine into every node (`kind load docker-image`)."""
        _kind("load", "docker-image", "--name", NAME, *images, timeout=900)

    def memory_mib(self) -> dict[str, float]:
        """Each node container's memory use now (docker stats), in MiB."""
        out = run_checked(["docker", "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}",
                           *self.nodes]).stdout
        units = {"B": 2**-20, "KiB": 2**-10, "MiB": 1.0, "GiB": 2**10}
        usage = {}
        for line in out.splitlines():
            name, used = line.split()[:2]
            number = used.rstrip("KMGiB")
            usage[name] = float(number) * units[used[len(number):]]
        return usage

    def pod_network_ready(self) -> bool:
        """Every node Ready with a podCIDR; kube-router, kube-proxy (NodePorts: the seat registries' pulls) and
        CoreDNS ready everywhere they run. A node whose kube-proxy is still starting serves no NodePort yet."""
        nodes = self.kubectl_json("get", "nodes")["items"]
        if len(nodes) != 1 + WORKERS or not all(_ready(n) and n["spec"].get("podCIDR") for n in nodes):
            return False
        daemons = [self.kubectl_json("get", "daemonset", name, "-n", "kube-system")["status"]
                   for name in ("kube-router", "kube-proxy")]
        dns = self.kubectl_json("get", "deployment", "coredns", "-n", "kube-system")["status"]
        return (all(d.get("numberReady") == len(nodes) for d in daemons)
                and dns.get("readyReplicas") == dns.get("replicas"))


def _ready(obj: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in obj["status"].get("conditions", []))


FAKE_METADATA = f"#!/bin/sh\nprintf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\n{METADATA_BODY}\\n'\n"


def _fake_metadata(cluster: ClassCluster) -> None:
    """169.254.169.254:80 on every node: the address on lo, socat answering every connection (idempotent)."""
    install = (f"cat >/kind/fake-metadata && chmod +x /kind/fake-metadata && {{ ip -4 addr show dev lo | "
               f"grep -q ' {METADATA_IP}/32' || ip addr add {METADATA_IP}/32 dev lo; }}")
    for node in cluster.nodes:
        run_checked(["docker", "exec", "-i", node, "sh", "-c", install], input=FAKE_METADATA)
        if cluster.node_exec(node, "pgrep", "-f", "EXEC:/kind/fake-metadata", check=False).returncode != 0:
            run_checked(["docker", "exec", "-d", node, "socat", f"TCP-LISTEN:80,bind={METADATA_IP},fork,reuseaddr",
                         "EXEC:/kind/fake-metadata"])


def delete() -> None:
    """Remove the cluster's nodes and its network."""
    if node_containers():
        _kind("delete", "cluster", "--name", NAME)
    if subprocess.run(["docker", "network", "inspect", NETWORK], capture_output=True).returncode == 0:
        run_checked(["docker", "network", "rm", NETWORK])


def _reusable(image: str) -> bool:
    nodes = node_containers()
    return (keep() and len(nodes) == 1 + WORKERS and set(nodes.values()) == {image}
            and all(run_checked(["docker", "inspect", "--format", "{{.State.Running}}", name]).stdout.strip()
                    == "true" for name in nodes))


def create(work: Path, registry_image: str) -> ClassCluster:
    """Create the cluster (or, with SHOPBOX_CLASS_KEEP=1, reuse a running one of the same node image); wait until
    its pod network is ready; the fake metadata endpoint on every node; `registry_image` loaded into every node."""
    image = node_image.node_image()
    kubeconfig = work / "kubeconfig"
    timings: dict[str, float] = {}
    if not _reusable(image):
        delete()
        config = class_kind_config(NAME, image, bridge_gateway(), free_port(), WORKERS,
                                   cgroup_v1=cgroup_version(Commands()) == "1")
        started = time.monotonic()
        _kind("create", "cluster", "--name", NAME, "--config=-", "--wait", "3m", stdin=config)
        timings["kind create cluster (3 nodes)"] = time.monotonic() - started
    kubeconfig.write_text(_kind("get", "kubeconfig", "--name", NAME))
    cluster = ClassCluster(kubeconfig)
    started = time.monotonic()
    cluster.wait_for("every node Ready with kube-router, kube-proxy and CoreDNS", cluster.pod_network_ready,
                     timeout=300, interval=2)
    timings["pod network ready after create"] = time.monotonic() - started
    _fake_metadata(cluster)
    started = time.monotonic()
    cluster.load_images(registry_image)
    timings["registry image loaded into 3 nodes"] = time.monotonic() - started
    cluster.timings.update(timings)
    cluster.memory_at_rest = sum(cluster.memory_mib().values())
    return cluster
