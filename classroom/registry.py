"""Images for seats: a registry per seat (the default), or an existing registry the instructor names.

Per seat, in the class namespace (the seat cannot read or change anything there but port-forward to its own
registry pod): a Secret `registry-SEAT` (`htpasswd`, bcrypt, of a random password per seat), a StatefulSet
`registry-SEAT` (one pod, `registry-SEAT-0`: a fixed name the seat's Role can name; images on an emptyDir), a
NodePort Service `registry-SEAT` (every node's kubelet pulls `localhost:NODEPORT/...`: kube-proxy serves NodePorts
on localhost) and a Role/RoleBinding `seat-SEAT` (the seat's ServiceAccount may port-forward to `registry-SEAT-0`,
nothing else).

The participant pushes the same name, `localhost:NODEPORT/qotm:...`, through the port-forward that the joined
shell keeps open on the host's 127.0.0.1:NODEPORT; so `$REGISTRY` is `localhost:NODEPORT` on both sides. Another
seat can neither reach the registry (its pods' egress stops at their namespace; its token may port-forward only
to its own registry) nor push to it (another password).

With an external registry (`class up --registry-file FILE`), the file gives each seat's prefix and credentials:

    seats:
      ana: {registry: registry.example.com/class/ana, username: ana, password: "..."}
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Any

import bcrypt

from classroom import rbac, sizes
from classroom.errors import UsageError
from classroom.files import read_yaml
from classroom.model import ClassSpec, Registry
from classroom.names import LABEL_CLASS, class_namespace, seat_labels, seat_namespace
from classroom.seat import SEAT_ACCOUNT

PORT = 5000
BCRYPT_ROUNDS = 10


def registry_name(seat: str) -> str:
    return f"registry-{seat}"


def registry_pod(seat: str) -> str:
    return f"{registry_name(seat)}-0"


def new_password() -> str:
    return secrets.token_urlsafe(24)


def htpasswd(username: str, password: str) -> str:
    return f"{username}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_ROUNDS)).decode()}\n"


def htpasswd_matches(line: str, username: str, password: str) -> bool:
    """True when an htpasswd line is `username`'s and holds `password` (re-runs keep the Secret as it is)."""
    user, _, hashed = line.strip().partition(":")
    if user != username or not hashed:
        return False
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


def _meta(spec: ClassSpec, seat: str, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": class_namespace(spec.name), "labels": seat_labels(spec.name, seat)}


def _selector(seat: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "registry", "app.kubernetes.io/instance": registry_name(seat)}


def secret(spec: ClassSpec, seat: str, username: str, password: str, htpasswd_line: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(spec, seat, registry_name(seat)),
            "type": "Opaque", "stringData": {"username": username, "password": password, "htpasswd": htpasswd_line}}


def service(spec: ClassSpec, seat: str) -> dict[str, Any]:
    """The nodePort is left to the API server to allocate (and kept by later applies)."""
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(spec, seat, registry_name(seat)),
            "spec": {"type": "NodePort", "selector": _selector(seat),
                     "ports": [{"name": "registry", "port": PORT, "targetPort": "registry", "protocol": "TCP"}]}}


def statefulset(spec: ClassSpec, seat: str) -> dict[str, Any]:
    name = registry_name(seat)
    labels = {**seat_labels(spec.name, seat), **_selector(seat)}
    container = {
        "name": "registry",
        "image": spec.registry_image,
        "ports": [{"name": "registry", "containerPort": PORT}],
        "env": [
            {"name": "REGISTRY_HTTP_ADDR", "value": f":{PORT}"},
            {"name": "REGISTRY_AUTH", "value": "htpasswd"},
            {"name": "REGISTRY_AUTH_HTPASSWD_REALM", "value": name},
            {"name": "REGISTRY_AUTH_HTPASSWD_PATH", "value": "/auth/htpasswd"},
            {"name": "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "value": "/var/lib/registry"},
        ],
        # /v2/ answers 401 without credentials: a TCP check says the registry listens.
        "readinessProbe": {"tcpSocket": {"port": "registry"}, "periodSeconds": 5},
        "resources": sizes.REGISTRY_RESOURCES,
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": True},
        "volumeMounts": [{"name": "auth", "mountPath": "/auth", "readOnly": True},
                         {"name": "images", "mountPath": "/var/lib/registry"}],
    }
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": _meta(spec, seat, name),
        "spec": {
            "serviceName": name,
            "replicas": 1,
            "selector": {"matchLabels": _selector(seat)},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    # Each registry is its own StatefulSet: spread the class's registries over the nodes.
                    "topologySpreadConstraints": [{
                        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "registry",
                                                          LABEL_CLASS: spec.name}}}],
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000,
                                        "fsGroup": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [
                        {"name": "auth", "secret": {"secretName": name, "items": [{"key": "htpasswd",
                                                                                   "path": "htpasswd"}]}},
                        {"name": "images", "emptyDir": {"sizeLimit": sizes.REGISTRY_STORAGE}},
                    ],
                },
            },
        },
    }


def seat_access(spec: ClassSpec, seat: str) -> list[dict[str, Any]]:
    """Role + RoleBinding in the class namespace: the seat's ServiceAccount may port-forward to its registry."""
    name = f"seat-{seat}"
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta(spec, seat, name),
         "rules": rbac.registry_rules(registry_pod(seat))},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": _meta(spec, seat, name),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": SEAT_ACCOUNT,
                       "namespace": seat_namespace(spec.name, seat)}]},
    ]


def seat_registry(seat: str, node_port: int, username: str, password: str) -> Registry:
    return Registry(name=f"localhost:{node_port}", username=username, password=password, pod=registry_pod(seat),
                    port=PORT)


def read_external(path: Path) -> dict[str, Registry]:
    """The instructor's registry file: seat -> its registry prefix and credentials. Errors name file and field."""
    data = read_yaml(path, UsageError)
    seats = data.get("seats") if isinstance(data, dict) else None
    if not isinstance(seats, dict) or not seats:
        raise UsageError(f"{path}: expected a mapping `seats:` of seat name -> {{registry, username, password}}")
    found = {}
    for seat, entry in seats.items():
        where = f"{path}: seats.{seat}"
        if not isinstance(entry, dict):
            raise UsageError(f"{where}: expected a mapping with registry, username and password")
        values = {}
        for key in ("registry", "username", "password"):
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                raise UsageError(f"{where}.{key}: missing or not a string")
            values[key] = value.strip()
        if "://" in values["registry"]:
            raise UsageError(f"{where}.registry: {values['registry']!r}: a registry prefix has no scheme "
                             "(host[:port]/path)")
        found[str(seat)] = Registry(values["registry"], values["username"], values["password"])
    return found


def external_secret(spec: ClassSpec, seat: str, registry: Registry) -> dict[str, Any]:
    """With an external registry, the class namespace keeps the seat's coordinates (for `add` and `reset`)."""
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(spec, seat, registry_name(seat)),
            "type": "Opaque", "stringData": {"registry": registry.name, "username": registry.username,
                                              "password": registry.password}}


def secret_data(obj: dict[str, Any] | None) -> dict[str, str]:
    """A stored registry Secret's data as text (the API returns it base64-encoded)."""
    return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in ((obj or {}).get("data") or {}).items()}
