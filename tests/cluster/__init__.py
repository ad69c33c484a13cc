"""A local Kubernetes control plane for the `cluster` test tier.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (one simulated node whose
pods "run"), all built from pinned Go modules by build.sh, on 127.0.0.1.
See tests/README.md, section "Local Kubernetes control plane".
"""

from .launcher import (
    ClusterStartError,
    KubeCluster,
    KubectlError,
    LocalCluster,
    PrerequisiteMissing,
    external_cluster,
)

__all__ = [
    "ClusterStartError",
    "KubeCluster",
    "KubectlError",
    "LocalCluster",
    "PrerequisiteMissing",
    "external_cluster",
]
