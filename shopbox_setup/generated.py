"""The configuration kind's local-registry recipe needs: the kind cluster config, each node's containerd
hosts.toml for localhost:PORT, and the KEP-1755 ConfigMap that advertises the registry."""

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


def kind_config(settings: Settings, node_image: str, cgroup_v1: bool) -> str:
    s = settings
    config = f"""\
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
name: {s.cluster}
networking:
  apiServerAddress: "127.0.0.1"
  apiServerPort: {s.api_port}
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
