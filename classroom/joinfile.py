"""The join file: everything a participant's shell needs to work in one seat, in one YAML file.

`class up` writes one per seat (mode 0600: it holds the seat's credentials); `./shopbox.sh join FILE` reads it.
Its fields and their meaning are in classroom/README.md ("The join file"; a unit test keeps that table complete).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import yaml

from classroom.errors import ClassError
from classroom.files import read_yaml
from classroom.model import ClassSpec, Registry, parse_timestamp, timestamp
from classroom.seat import SEAT_INFO

API_VERSION = "class.shopbox.io/v1"
KIND = "SeatJoin"
# The seat-side Services the joined shell forwards, and their host URLs (CONVENTIONS.md 3: the same in both modes).
FORWARDS = {
    "edge": {"service": "envoy", "port": 8080, "url": "http://localhost:8080/qotm/"},
    "prometheus": {"service": "prometheus", "port": 9090, "url": "http://localhost:9090/"},
}
HEADER = "# shopbox seat join file: ./shopbox.sh join THIS-FILE. It holds the seat's credentials: keep it private.\n"


@dataclass(frozen=True)
class Join:
    path: Path
    data: dict[str, Any]

    @property
    def klass(self) -> str:
        return str(self.data["class"])

    @property
    def seat(self) -> str:
        return str(self.data["seat"])

    @property
    def namespace(self) -> str:
        return str(self.data["namespace"])

    @property
    def cluster_id(self) -> str:
        return str(self.data["cluster"]["id"])

    @property
    def server(self) -> str:
        return str(self.data["cluster"]["server"])

    @property
    def expires(self) -> datetime:
        return parse_timestamp(str(self.data["expires"]))

    @property
    def token(self) -> str:
        return str(self.data["kubeconfig"]["users"][0]["user"]["token"])


def kubeconfig(spec: ClassSpec, namespace: str, token: str) -> dict[str, Any]:
    name = f"{spec.name}-{namespace.removeprefix(spec.name + '-')}"
    cluster: dict[str, Any] = {"server": spec.server}
    if spec.ca_data:
        cluster["certificate-authority-data"] = spec.ca_data
    return {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": spec.name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": spec.name, "user": name, "namespace": namespace}}],
        "current-context": name,
    }


def build(spec: ClassSpec, seat: str, namespace: str, registry: Registry, token: str,
          expires: datetime) -> dict[str, Any]:
    """A seat's join file, as data. `expires`: the token's expiry (the class's end unless the API server caps
    token lifetimes lower)."""
    found: dict[str, Any] = {"name": registry.name, "username": registry.username, "password": registry.password}
    if registry.pod:
        found["forward"] = {"namespace": spec.name, "pod": registry.pod, "port": registry.port}
    return {
        "apiVersion": API_VERSION, "kind": KIND,
        "class": spec.name, "seat": seat, "namespace": namespace,
        "cluster": {"id": spec.cluster_id, "server": spec.server},
        "expires": timestamp(expires),
        "registry": found,
        "forwards": {key: dict(value) for key, value in FORWARDS.items()},
        "kubeconfig": kubeconfig(spec, namespace, token),
    }


def dump(data: dict[str, Any]) -> str:
    return HEADER + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def write(path: Path, data: dict[str, Any]) -> bool:
    """Write the file (mode 0600) unless it already holds exactly this; True when it was (re)written."""
    text = dump(data)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    tmp.replace(path)
    return True


def _require(data: Any, path: Path, *keys: str) -> Any:
    value = data
    for depth, key in enumerate(keys):
        if not isinstance(value, dict) or key not in value or value[key] in (None, ""):
            raise ClassError(f"{path}: not a shopbox join file (no {'.'.join(keys[:depth + 1])})")
        value = value[key]
    return value


def load(path: Path, now: datetime) -> Join:
    """Read and check a join file: its format, and that it has not expired. One-line errors name the file."""
    data = read_yaml(path, ClassError)
    if not isinstance(data, dict) or data.get("kind") != KIND or data.get("apiVersion") != API_VERSION:
        raise ClassError(f"{path}: not a shopbox join file (expected apiVersion {API_VERSION}, kind {KIND})")
    for keys in (("class",), ("seat",), ("namespace",), ("cluster", "id"), ("cluster", "server"), ("expires",),
                 ("registry", "name"), ("kubeconfig", "users")):
        _require(data, path, *keys)
    join = Join(path, data)
    try:
        join.token  # noqa: B018 -- checks the kubeconfig's shape
        expires = join.expires
    except (KeyError, IndexError, TypeError):
        raise ClassError(f"{path}: not a shopbox join file (its kubeconfig has no token)") from None
    except ValueError:
        raise ClassError(f"{path}: expires: {data['expires']!r} is not an RFC 3339 time") from None
    if expires <= now:
        raise ClassError(f"{path}: expired at {timestamp(expires)} (class {join.klass}, seat {join.seat}): ask the "
                         "instructor for a new join file")
    return join


class SeatReader(Protocol):
    """Reads the seat's facts with the join file's own credentials (joinfile.verify's view of the cluster)."""

    def seat_info(self, join: Join) -> dict[str, str] | None:
        """The data of the seat's shopbox-seat ConfigMap; None when it does not exist. ClassError when the cluster
        refuses the token or cannot be reached."""
        ...


def verify(join: Join, reader: SeatReader) -> dict[str, str]:
    """Check, through the cluster at join.server, that the join file is for that cluster and seat: the seat's
    ConfigMap must exist and name the same cluster id, class and seat. Returns the ConfigMap's data."""
    info = reader.seat_info(join)
    where = f"{join.path}: the cluster at {join.server}"
    if info is None:
        raise ClassError(f"{where} has no seat {join.seat} of class {join.klass} (namespace {join.namespace}): the "
                         "class was taken down, or this join file is for another cluster")
    if info.get("cluster-id") != join.cluster_id:
        raise ClassError(f"{where} is cluster {info.get('cluster-id')}, but this join file is for cluster "
                         f"{join.cluster_id}: it belongs to another cluster")
    if info.get("class") != join.klass or info.get("seat") != join.seat:
        raise ClassError(f"{where} holds seat {info.get('seat')} of class {info.get('class')} in namespace "
                         f"{join.namespace}, not seat {join.seat} of class {join.klass}")
    return info


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (the API server verifies; this only reads its expiry and account uid)."""
    try:
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError, TypeError):
        return {}


def seat_info_path(join: Join) -> str:
    return f"/api/v1/namespaces/{join.namespace}/configmaps/{SEAT_INFO}"
