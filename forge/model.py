"""The data forge passes between its stages: discover -> version -> build -> render -> validate -> apply -> wait."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Labels forge puts on every object it applies (and on pod templates).
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_NAME = "app.kubernetes.io/name"  # the service
LABEL_INSTANCE = "app.kubernetes.io/instance"  # build.name (e.g. qotm or qotm-canary)
LABEL_VERSION = "app.kubernetes.io/version"
LABEL_PROFILE = "forge.shopbox.io/profile"
MANAGER = "forge"  # value of LABEL_MANAGED_BY and the server-side apply field manager
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"  # namespaces, service names (RFC 1123 label)
# Kinds whose pod template is at spec.template; CronJob's is under spec.jobTemplate.spec.template.
_POD_TEMPLATE_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}
)


def pod_template(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template of a workload manifest (a CronJob's is under its jobTemplate), None when it has none."""
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return None
    if doc.get("kind") in _POD_TEMPLATE_KINDS:
        found = spec.get("template")
    elif doc.get("kind") == "CronJob":
        job = spec.get("jobTemplate")
        job_spec = job.get("spec") if isinstance(job, dict) else None
        found = job_spec.get("template") if isinstance(job_spec, dict) else None
    else:
        return None
    return found if isinstance(found, dict) else None


@dataclass(frozen=True)
class Workspace:
    """Settings from forge.yaml at the workspace root (found by walking up), with defaults."""

    root: Path
    registry: str | None = None  # e.g. "localhost:5001" or "docker.io/alice"; None: local images only
    concurrency: int = 4
    namespace: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)  # added to every container's build args
    config_path: Path | None = None  # the forge.yaml read, if any
    node_ports: bool = True  # False: the namespace allows no NodePort Service (a classroom seat): render ClusterIP
    image_pull_secrets: tuple[str, ...] = ()  # added to every pod forge renders (pods with their own ServiceAccount)


@dataclass(frozen=True)
class BuildSecret:
    """A build secret (BuildKit's `RUN --mount=type=secret,id=ID`): its value comes from the environment variable
    `env` or the file `file` at build time and never goes into the image, the version hash or forge's output."""

    id: str
    env: str | None = None
    file: Path | None = None  # absolute


@dataclass(frozen=True)
class Container:
    """One image of a service."""

    key: str  # Dockerfile path relative to the service dir, e.g. "Dockerfile"; a key of build.images
    name: str  # image name without registry or tag, unique in the workspace; also a key of build.images
    dockerfile: Path  # absolute
    context: Path  # absolute build context
    args: dict[str, str] = field(default_factory=dict)
    secrets: tuple[BuildSecret, ...] = ()  # only the BuildKit builder can pass them


@dataclass
class Service:
    """A directory with a service.yaml."""

    name: str
    root: Path
    descriptor_path: Path
    data: dict[str, Any]  # the whole descriptor with defaults filled in: templates see it as `service`
    containers: list[Container]
    profiles: dict[str, dict[str, Any]]
    branches: dict[str, str]
    requires: list[str]
    overridden: tuple[str, ...] = ()  # the --set keys applied to this service (those its service.yaml has)
    branch: str | None = None  # the branch it was read for (--branch, FORGE_BRANCH, git): `branches` use it

    @property
    def templates_dir(self) -> Path:
        return self.root / "k8s"


@dataclass(frozen=True)
class Image:
    container: Container
    version: str  # content hash of what goes into the image
    ref: str  # "<registry>/<name>:<version>", or "<name>:<version>" without a registry


@dataclass
class Build:
    """One deployment of one service in one profile: what templates see as `build`."""

    service: Service
    profile: str
    profile_values: dict[str, Any]  # the chosen profile's map, plus "name"
    name: str  # build.name: the service name, "<service>-canary" in the canary profile, or profile["name"]
    canary: bool
    version: str
    images: dict[str, Image]  # keyed by container key and by container name
    namespace: str
    node_ports: bool = True  # the workspace's: NodePort Services render as ClusterIP when False
    image_pull_secrets: tuple[str, ...] = ()  # the workspace's: added to every pod

    def labels(self) -> dict[str, str]:
        return {
            LABEL_MANAGED_BY: MANAGER,
            LABEL_NAME: self.service.name,
            LABEL_INSTANCE: self.name,
            LABEL_VERSION: self.version,
            LABEL_PROFILE: self.profile,
        }

    def selector(self) -> dict[str, str]:
        """The labels that find every object of this service+profile (for prune, delete, list)."""
        return {LABEL_MANAGED_BY: MANAGER, LABEL_NAME: self.service.name, LABEL_PROFILE: self.profile}


@dataclass
class Manifest:
    """One rendered Kubernetes object and where it came from."""

    build: Build
    source: Path  # the template file
    doc: dict[str, Any]

    @property
    def api_version(self) -> str:
        return self.doc["apiVersion"]

    @property
    def kind(self) -> str:
        return self.doc["kind"]

    @property
    def name(self) -> str:
        return self.doc["metadata"]["name"]

    @property
    def namespace(self) -> str:
        return self.doc["metadata"].get("namespace") or self.build.namespace

    def ident(self) -> str:
        """`Kind/name` as users read it, e.g. `Deployment/qotm`."""
        return f"{self.kind}/{self.name}"

    def key(self) -> tuple[str, str, str, str]:
        group = self.api_version.rsplit("/", 1)[0] if "/" in self.api_version else ""
        return (group, self.kind, self.namespace, self.name)
