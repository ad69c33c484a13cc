"""Stage 4 of the pipeline: the cluster. What forge applies, prunes, waits for and reads back.

The rest of forge reaches the Kubernetes API only through `ClusterAPI` (the real one is `kube.Cluster`, made by
`kube.connect`; the unit tests use an in-memory one, tests/forge/fakes.py). Objects are addressed by the API paths
`kube.ResourceType.path` builds, so the stages above never see HTTP, and a fake needs no kubernetes client.

Used by the verbs (forge/verbs/): `apply.prepare`/`apply.apply` (dry run, apply, prune), `rollout.finish` (wait,
then where to reach it), `prune.delete_build`, `wait.Waiter`, `listing.deployed`/`listing.rows`,
`endpoints.endpoints`, `logs.show`/`follow`.
Light on purpose (no client import here): `forge render` and `forge canary status` never load the kubernetes package.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from forge.cluster.kube import ResourceType

DEFAULT_TIMEOUT = 300.0  # seconds forge waits for a rollout (--timeout of deploy, dev, canary promote)


class ClusterAPI(Protocol):
    """One kubeconfig context and namespace. Errors: `kube.ApiError` for an error status (404 of `delete`, 409 of a
    failed `uid` precondition), ForgeError when the server cannot be reached."""

    context: str
    namespace: str

    @property
    def server(self) -> str: ...

    def target(self) -> str:
        """What forge prints before it changes anything: `context: C  namespace: N`."""
        ...

    def resource(self, api_version: str, kind: str) -> ResourceType:
        """The served resource of apiVersion+kind (discovery); ForgeError when the cluster does not serve it."""
        ...

    def get(self, path: str) -> dict[str, Any] | None:
        """The object at `path`; None when it does not exist."""
        ...

    def list(self, path: str, selector: str | None = None) -> list[dict[str, Any]]:
        """The items of the collection at `path`, optionally only those matching a label selector."""
        ...

    def apply(self, path: str, body: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply of `body` at `path` (field manager forge, conflicts forced); the object as stored."""
        ...

    def create(self, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create `body` in the collection at `collection` (POST); ApiError 409 when it exists."""
        ...

    def merge_patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A JSON merge patch of the object at `path` (what `forge setup` does to a namespace's labels)."""
        ...

    def delete(self, path: str, *, uid: str | None = None) -> None:
        """Delete the object at `path` (dependents in the background); with `uid`, only that very object."""
        ...

    def server_version(self) -> str | None:
        """e.g. "1.36.1" (None for a development build); also proves the cluster answers."""
        ...

    def local_registry(self) -> str | None:
        """The registry host the cluster advertises (KEP-1755), if any."""
        ...

    def pod_logs(self, namespace: str, pod: str, container: str, *, previous: bool = False,
                 tail: int | None = None) -> str:
        """The log of one container (`previous`: of its last terminated run)."""
        ...

    def follow_logs(self, namespace: str, pod: str, container: str, *, tail: int | None = None) -> Iterator[str]:
        """A container's log lines as they arrive, until the server ends the stream."""
        ...
