"""The objects of one seat's namespace: plain Kubernetes objects, each labelled as the class's. classroom/README.md
("The seat namespace's objects") has the table: Namespace (Pod Security restricted), ServiceAccount, Role and
RoleBinding `seat`, ResourceQuota and LimitRange `seat`, NetworkPolicies `class-ingress` and `class-egress`, the
registry pull Secret and the `default` ServiceAccount that uses it, and the ConfigMap `shopbox-seat`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from classroom import rbac, sizes
from classroom.model import ClassSpec, Registry
from classroom.names import LABEL_CLASS, LABEL_PART, PART_SEAT, seat_labels, seat_namespace

SEAT_ACCOUNT = "seat"  # the participant's ServiceAccount, Role and RoleBinding, quota and limits
PULL_SECRET = "registry-pull"
SEAT_INFO = "shopbox-seat"  # ConfigMap: the seat's facts (joinfile.verify reads it with the seat's token)
SHARED_LABEL = "class.shopbox.io/shared"  # on a namespace: its pods are reachable from every seat of that class
NODE_LOCAL_DNS = "169.254.20.10/32"  # NodeLocal DNSCache's usual address (GKE, kubeadm add-on): DNS only
POD_SECURITY = {
    f"pod-security.kubernetes.io/{mode}{suffix}": value
    for mode in ("enforce", "warn", "audit")
    for suffix, value in (("", "restricted"), ("-version", "latest"))
}


def _meta(spec: ClassSpec, seat: str, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": seat_namespace(spec.name, seat), "labels": seat_labels(spec.name, seat)}


def namespace(spec: ClassSpec, seat: str) -> dict[str, Any]:
    labels = {**seat_labels(spec.name, seat), LABEL_PART: PART_SEAT, **POD_SECURITY}
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": seat_namespace(spec.name, seat), "labels": labels}}


def service_account(spec: ClassSpec, seat: str) -> dict[str, Any]:
    # Its token goes into the join file only (TokenRequest), never into a pod.
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(spec, seat, SEAT_ACCOUNT),
            "automountServiceAccountToken": False}


def role(spec: ClassSpec, seat: str) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta(spec, seat, SEAT_ACCOUNT),
            "rules": rbac.SEAT_RULES}


def role_binding(spec: ClassSpec, seat: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": _meta(spec, seat, SEAT_ACCOUNT),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": SEAT_ACCOUNT},
        "subjects": [{"kind": "ServiceAccount", "name": SEAT_ACCOUNT, "namespace": seat_namespace(spec.name, seat)}],
    }


def resource_quota(spec: ClassSpec, seat: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": _meta(spec, seat, SEAT_ACCOUNT),
            "spec": {"hard": dict(spec.quota)}}


def limit_range(spec: ClassSpec, seat: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "LimitRange", "metadata": _meta(spec, seat, SEAT_ACCOUNT),
        "spec": {"limits": [
            {"type": "Container", "default": dict(sizes.CONTAINER_DEFAULT_LIMIT),
             "defaultRequest": dict(sizes.CONTAINER_DEFAULT_REQUEST), "max": dict(sizes.CONTAINER_MAX)},
            {"type": "PersistentVolumeClaim", "max": dict(sizes.CLAIM_MAX)},
        ]},
    }


def ingress_policy(spec: ClassSpec, seat: str) -> dict[str, Any]:
    """Every pod isolated for ingress: only what the seat's own (narrow) policies allow gets in. NetworkPolicies
    add up, so this never widens the seat's policies (forge's qotm policy still refuses all but the edge)."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": _meta(spec, seat, "class-ingress"), "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


def _dns_ports() -> list[dict[str, Any]]:
    return [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def egress_policy(spec: ClassSpec, seat: str) -> dict[str, Any]:
    """Where a seat's pods may connect. Seats cannot add egress rules (policy.py), so this is the whole list:
    their own namespace, cluster DNS, namespaces labelled as the class's shared services, and the API server
    (eds and Prometheus watch it). Not other seats, not the class namespace (registries), not the cloud metadata
    address or anything else outside the cluster."""
    rules: list[dict[str, Any]] = [
        {"to": [{"podSelector": {}}]},
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                 "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": _dns_ports()},
        {"to": [{"ipBlock": {"cidr": NODE_LOCAL_DNS}}], "ports": _dns_ports()},
        {"to": [{"namespaceSelector": {"matchLabels": {SHARED_LABEL: spec.name}}}]},
    ]
    for endpoint in spec.api_endpoints:
        bits = 128 if ":" in endpoint.ip else 32
        rules.append({"to": [{"ipBlock": {"cidr": f"{endpoint.ip}/{bits}"}}],
                      "ports": [{"protocol": "TCP", "port": endpoint.port}]})
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": _meta(spec, seat, "class-egress"),
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": rules}}


def docker_config(registry: Registry) -> str:
    auth = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    return json.dumps({"auths": {registry.host: {"username": registry.username, "password": registry.password,
                                                 "auth": auth}}}, sort_keys=True)


def pull_secret(spec: ClassSpec, seat: str, registry: Registry) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(spec, seat, PULL_SECRET),
            "type": "kubernetes.io/dockerconfigjson", "stringData": {".dockerconfigjson": docker_config(registry)}}


def default_account(spec: ClassSpec, seat: str) -> dict[str, Any]:
    """The namespace's `default` ServiceAccount (the controller makes it; server-side apply adds to it): pods
    without a serviceAccountName pull with the seat's registry credentials."""
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(spec, seat, "default"),
            "imagePullSecrets": [{"name": PULL_SECRET}]}


def seat_info(spec: ClassSpec, seat: str, registry: Registry) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(spec, seat, SEAT_INFO),
            "data": {"class": spec.name, "seat": seat, "cluster-id": spec.cluster_id, "ends": spec.ends_text(),
                     "registry": registry.name}}


def seat_objects(spec: ClassSpec, seat: str, registry: Registry) -> list[dict[str, Any]]:
    """Everything in the seat's namespace, the Namespace first, in apply order."""
    return [
        namespace(spec, seat), service_account(spec, seat), role(spec, seat), role_binding(spec, seat),
        resource_quota(spec, seat), limit_range(spec, seat), ingress_policy(spec, seat), egress_policy(spec, seat),
        pull_secret(spec, seat, registry), default_account(spec, seat), seat_info(spec, seat, registry),
    ]


def class_owned(obj: dict[str, Any]) -> bool:
    return LABEL_CLASS in ((obj.get("metadata") or {}).get("labels") or {})
