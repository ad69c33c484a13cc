"""The data `class up` works from: the class (its name, end, cluster) and each seat's registry coordinates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from classroom import sizes


@dataclass(frozen=True)
class ApiEndpoint:
    """An address the API server answers on, as pods reach it (the `kubernetes` Service's endpoints)."""

    ip: str
    port: int


@dataclass(frozen=True)
class ClassSpec:
    name: str
    ends: datetime  # UTC; seat tokens expire then
    cluster_id: str  # the kube-system Namespace's uid: what a join file is checked against
    server: str  # the API server URL join files name (reachable from the participants' laptops)
    ca_data: str  # base64 PEM of the cluster's CA, as a kubeconfig's certificate-authority-data ("" for none)
    registry_image: str = ""  # the per-seat registry's image (REGISTRY_IMAGE); "" with external registries
    api_endpoints: tuple[ApiEndpoint, ...] = field(default_factory=tuple)
    quota: dict[str, str] = field(default_factory=sizes.seat_quota)  # each seat's ResourceQuota spec.hard

    def ends_text(self) -> str:
        return timestamp(self.ends)


@dataclass(frozen=True)
class Registry:
    """Where one seat's images go: `name` is $REGISTRY in the seat's shell and forge's registry (push and pull
    prefix); `host` is the part a Docker login and the pull Secret are for."""

    name: str
    username: str
    password: str
    pod: str = ""  # a per-seat registry: the pod (class namespace) the joined shell port-forwards to for pushing
    port: int = 0  # and its container port

    @property
    def host(self) -> str:
        return self.name.split("/", 1)[0]


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC, seconds: 2026-05-04T17:30:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    """The inverse of timestamp() (any RFC 3339 offset accepted); ValueError when it is not one."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment.astimezone(UTC)
