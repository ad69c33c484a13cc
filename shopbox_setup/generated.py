"""The configuration kind's local-registry recipe needs: the kind cluster config, each node's containerd
hosts.toml for localhost:PORT, and the KEP-1755 ConfigMap that advertises the registry; and the kind cluster config
of a kind-based class (several nodes, the API server its only published port)."""

from __future__ import annotations

from shopbox_setup.settings import EDGE_NODE_PORT, PROMETHEUS_NODE_PORT, Settings

# cgroup v1 engine: the kubelet (>= 1.35) refuses cgroup v1 unless failCgroupV1 is false, and kubeadm's
# SystemVerification preflight check fails on it (KEP-5573). cgroup v1 support is deprecated: prefer a cgroup v2 host.
CGROUP_V1_PATCHES = """\
kubeadmConfigPatches:
- |
  kind: KubeletConfiguration
  failCgroupV1: false
- |
  kind: InitConfiguration
  nodeRegistration:
    ignorePreflightErrors: [SystemVerification]
- |
  kind: JoinConfiguration
  nodeRegistration:
    ignorePreflightErrors: [SystemVerification]
"""


def _cluster(name: str, api_address: str, api_port: int) -> str:
    return f"""\
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
name: {name}
networking:
  apiServerAddress: "{api_address}"
  apiServerPort: {api_port}
"""


def kind_config(settings: Settings, node_image: str, cgroup_v1: bool) -> str:
    s = settings
    config = _cluster(s.cluster, "127.0.0.1", s.api_port) + f"""\
# containerd reads registry host configuration from certs.d (already the default in recent node images).
containerdConfigPatches:
- |-
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerd/certs.d"
nodes:
- role: control-plane
  image: {node_image}
  # The edge and Prometheus on the host's localhost (a browser on macOS/Windows cannot reach node addresses).
  extraPortMappings:
  - {{containerPort: {EDGE_NODE_PORT}, hostPort: {s.edge_port}, listenAddress: "127.0.0.1", protocol: TCP}}
  - {{containerPort: {PROMETHEUS_NODE_PORT}, hostPort: {s.prometheus_port}, listenAddress: "127.0.0.1", protocol: TCP}}
"""
    return config + (CGROUP_V1_PATCHES if cgroup_v1 else "")


def class_kind_config(name: str, node_image: str, api_address: str, api_port: int, workers: int,
                      cgroup_v1: bool) -> str:
    """A kind cluster for a class: one control plane and `workers` workers, the API server published on
    `api_address` (an address of the machine that participants' machines reach), no other port: seats reach their
    edge, Prometheus and registry through the API server (port-forwards), never a node address or a NodePort."""
    nodes = "".join(f"- role: {role}\n  image: {node_image}\n" for role in ["control-plane"] + ["worker"] * workers)
    return _cluster(name, api_address, api_port) + "nodes:\n" + nodes + (CGROUP_V1_PATCHES if cgroup_v1 else "")


def hosts_toml_dir(settings: Settings) -> str:
    """On each node, localhost:PORT (what participants push to) is served by the registry container on the kind
    network: inside a node, localhost is the node itself."""
    return f"/etc/containerd/certs.d/localhost:{settings.registry_port}"


def hosts_toml(settings: Settings) -> str:
    return f'[host."http://{settings.registry}:5000"]\n'


def registry_configmap(settings: Settings) -> str:
    """KEP-1755: advertises the local registry to tools."""
    s = settings
    return f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:{s.registry_port}"
    hostFromContainerRuntime: "{s.registry}:5000"
    hostFromClusterNetwork: "{s.registry}:5000"
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
"""
