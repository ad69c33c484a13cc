"""In-memory stand-ins behind forge's seams, for the unit tier (ko's in-memory registry, in spirit).

- `FakeAPIServer` / `FakeCluster` (forge.cluster.ClusterAPI): objects stored by API path; discovery of the kinds
  the tests use; server-side apply with uid, resourceVersion and generation as the API server keeps them; deletes
  with uid preconditions (409) and garbage collection of owned objects; label-selector lists; create and merge
  patch (forge setup's namespace labels), refused with 403 on the paths in `forbidden`. A Deployment rolls out
  at once (a ReplicaSet and Ready pods), unless its pod template carries the `shopbox.test/fail` annotation of
  tests/cluster/kwok.yaml (`image-pull`, `crash`) or `pending` (pods never become Ready, for timeouts). The
  API server's check that a Deployment's selector matches its template labels is mimicked, as an `Invalid` error.
- `FakeEngine` / `FakeRegistry` (forge.images.ImageEngine / ImageStore): builds, pushes and untags recorded,
  failures on demand.
- `FakeDockerAPI` (the low-level Docker client, as far as choosing a builder needs it: ping, version, build) and
  `FakeBuildx` (forge.images.buildkit's process seam: a `docker buildx build` that replays given output lines).
- `backends(...)`: a forge.context.Backends wired to them; `recording(...)`: a run context whose Output keeps every
  line printed (`Lines`), for the verbs' tests.

What they answer is checked against the real thing: the same behaviours run against a real API server in
tests/forge/test_deploy_cluster.py (cluster tier) and against the real engine and registry in tests/forge/test_build.py.
"""

from __future__ import annotations

import copy
import functools
import io
import itertools
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import docker.errors

from forge.cluster.kube import ApiError, ResourceType
from forge.context import REAL, Backends, Context, Target
from forge.errors import ForgeError
from forge.model import Image
from forge.output import Output
from forge.progress import Reporter

F = TypeVar("F", bound=Callable[..., Any])
FAIL_ANNOTATION = "shopbox.test/fail"
KUBELET_DOWN = 'Get "https://127.0.0.1:10250/containerLogs": dial tcp 127.0.0.1:10250: connect: connection refused'
KINDS = [
    ResourceType("v1", "Namespace", "namespaces", False),
    ResourceType("v1", "Node", "nodes", False),
    ResourceType("v1", "ConfigMap", "configmaps", True),
    ResourceType("v1", "Secret", "secrets", True),
    ResourceType("v1", "Service", "services", True),
    ResourceType("v1", "ServiceAccount", "serviceaccounts", True),
    ResourceType("v1", "Pod", "pods", True),
    ResourceType("apps/v1", "Deployment", "deployments", True),
    ResourceType("apps/v1", "ReplicaSet", "replicasets", True),
    ResourceType("apps/v1", "StatefulSet", "statefulsets", True),
]


def _matches(labels: dict[str, str] | None, selector: str | None) -> bool:
    if not selector:
        return True
    labels = labels or {}
    for term in selector.split(","):
        key, sep, value = term.partition("=")
        if not sep:
            raise NotImplementedError(f"fake API server: selector {term!r}")
        if labels.get(key) != value:
            return False
    return True


@dataclass
class FakeAPIServer:
    """The objects of one cluster, by API path."""

    namespaces: tuple[str, ...] = ("default",)
    version: str = "1.36.1"
    local_registry: str | None = None
    node_address: str = "127.0.0.1"
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    logs: dict[tuple[str, str], str] = field(default_factory=dict)  # (pod, container) -> log; else kubelet down
    calls: list[tuple[str, str]] = field(default_factory=list)  # (verb, path) of every call that changes something
    recreated: set[str] = field(default_factory=set)  # paths someone else recreates just before forge deletes them
    forbidden: set[str] = field(default_factory=set)  # paths this user may read but not create or change (403)
    pod_quota: dict[str, int] = field(default_factory=dict)  # namespace -> `pods` of its ResourceQuota `seat`
    lock: threading.RLock = field(default_factory=threading.RLock)  # forge dev follows logs in threads
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        for namespace in self.namespaces:
            self.put("/api/v1/namespaces/" + namespace, {"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": namespace}})
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-0"},
                "status": {"conditions": [{"type": "Ready", "status": "True"}],
                           "addresses": [{"type": "InternalIP", "address": self.node_address}]}}
        self.put("/api/v1/nodes/node-0", node)

    def connect(self, *, context: str | None = None, namespace: str | None = None) -> FakeCluster:
        """What kube.connect is to a real cluster (the context's namespace here is `default`)."""
        return FakeCluster(self, context or "fake", namespace or "default")

    # -- the store --------------------------------------------------------------------------------------------

    def put(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store `obj` as the API server would: uid and resourceVersion kept up to date."""
        meta = obj.setdefault("metadata", {})
        before = self.objects.get(path)
        meta.setdefault("uid", (before or {}).get("metadata", {}).get("uid") or f"uid-{next(self._counter)}")
        meta["resourceVersion"] = str(next(self._counter))
        self.objects[path] = obj
        return obj

    def remove(self, path: str) -> None:
        """Delete an object and, as the garbage collector does, what it owns."""
        uid = self.objects.pop(path)["metadata"]["uid"]
        owned = [p for p, o in self.objects.items()
                 if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])]
        for child in owned:
            self.remove(child)

    def named(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """An object by kind and name (for assertions)."""
        resource = next(r for r in KINDS if r.kind == kind)
        return self.objects.get(resource.path(namespace if resource.namespaced else None, name))

    def names(self, namespace: str) -> set[str]:
        """`Kind/name` of every object in `namespace` but pods and ReplicaSets (what tests compare)."""
        prefix = f"/namespaces/{namespace}/"
        return {f"{o['kind']}/{o['metadata']['name']}" for p, o in self.objects.items()
                if prefix in p and o["kind"] not in ("Pod", "ReplicaSet")}

    def state(self, namespace: str) -> dict[str, tuple[str, str]]:
        """`Kind/name` -> (uid, resourceVersion), as tests/forge/test_deploy_cluster.py's state()."""
        prefix = f"/namespaces/{namespace}/"
        return {f"{o['kind']}/{o['metadata']['name']}": (o["metadata"]["uid"], o["metadata"]["resourceVersion"])
                for p, o in self.objects.items() if prefix in p and o["kind"] not in ("Pod", "ReplicaSet")}

    # -- the controllers ----------------------------------------------------------------------------------------

    def roll_out(self, path: str, deployment: dict[str, Any]) -> None:
        """The deployment and ReplicaSet controllers and a kubelet, in one step."""
        meta, spec = deployment["metadata"], deployment.get("spec") or {}
        template = spec.get("template") or {}
        revision = str(meta["generation"])
        meta.setdefault("annotations", {})["deployment.kubernetes.io/revision"] = revision
        namespace, name = meta["namespace"], meta["name"]
        rs_name = f"{name}-{revision}"
        labels = (template.get("metadata") or {}).get("labels") or {}
        owner = {"uid": meta["uid"], "kind": "Deployment", "name": name}
        for old in [p for p, o in self.objects.items() if o["kind"] == "ReplicaSet"
                    and owner["uid"] in {r["uid"] for r in o["metadata"]["ownerReferences"]}]:
            self.remove(old)
        rs = self.put(f"/apis/apps/v1/namespaces/{namespace}/replicasets/{rs_name}", {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs_name, "namespace": namespace, "labels": labels, "ownerReferences": [owner],
                         "annotations": {"deployment.kubernetes.io/revision": revision}}})
        want = spec.get("replicas", 1)
        mode = ((template.get("metadata") or {}).get("annotations") or {}).get(FAIL_ANNOTATION)
        containers = (template.get("spec") or {}).get("containers") or []
        used = sum(1 for p in self.objects if p.startswith(f"/api/v1/namespaces/{namespace}/pods/"))
        limit = self.pod_quota.get(namespace)
        created = want if limit is None else max(0, min(want, limit - used))
        for index in range(created):
            pod_name = f"{rs_name}-{index}"
            self.put(f"/api/v1/namespaces/{namespace}/pods/{pod_name}", {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod_name, "namespace": namespace, "labels": labels,
                             "ownerReferences": [{"uid": rs["metadata"]["uid"], "kind": "ReplicaSet",
                                                  "name": rs_name}]},
                "spec": {"containers": containers}, "status": _pod_status(mode, containers)})
        ready = 0 if mode else created
        deployment["status"] = {"observedGeneration": meta["generation"], "replicas": created,
                                "updatedReplicas": created, "readyReplicas": ready, "availableReplicas": ready}
        if created < want:  # the ReplicaSet controller's refused create, copied to the Deployment
            deployment["status"]["conditions"] = [{
                "type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                "message": f'pods "{rs_name}-{created}" is forbidden: exceeded quota: seat, requested: pods=1, '
                           f"used: pods={used + created}, limited: pods={limit}"}]


def _pod_status(mode: str | None, containers: list[dict[str, Any]]) -> dict[str, Any]:
    """A pod's status as kwok's stages (tests/cluster/kwok.yaml) make it."""
    def container(state: dict[str, Any], restarts: int = 0, **extra: Any) -> list[dict[str, Any]]:
        return [{"name": c["name"], "image": c.get("image"), "ready": mode is None, "restartCount": restarts,
                 "state": state, **extra} for c in containers]

    if mode == "image-pull":
        return {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": container({"waiting": {"reason": "ImagePullBackOff"}})}
    if mode == "crash":
        return {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": container({"waiting": {"reason": "CrashLoopBackOff"}}, 3,
                                               lastState={"terminated": {"exitCode": 1, "reason": "Error"}})}
    if mode == "pending":
        return {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": container({"waiting": {"reason": "ContainerCreating"}})}
    return {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": container({"running": {}})}


def _invalid(obj: dict[str, Any]) -> str | None:
    """The API server's validation that the tests exercise: a Deployment's selector must match its pods."""
    if obj.get("kind") != "Deployment":
        return None
    spec = obj.get("spec") or {}
    wanted = ((spec.get("selector") or {}).get("matchLabels")) or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if all(labels.get(k) == v for k, v in wanted.items()):
        return None
    return (f'Deployment.apps "{obj["metadata"]["name"]}" is invalid: spec.template.metadata.labels: Invalid value: '
            f"{labels}: `selector` does not match template `labels`")


def _locked(method: F) -> F:
    """One request at a time, as if the API server serialised them."""
    @functools.wraps(method)
    def call(self: FakeCluster, *args: Any, **kwargs: Any) -> Any:
        with self.api.lock:
            return method(self, *args, **kwargs)

    return call  # type: ignore[return-value]


@dataclass
class FakeCluster:
    """A view of a FakeAPIServer from one context and namespace: forge.cluster.ClusterAPI."""

    api: FakeAPIServer
    context: str
    namespace: str

    @property
    def server(self) -> str:
        return "https://fake.invalid:6443"

    def target(self) -> str:
        return f"context: {self.context}  namespace: {self.namespace}"

    def resource(self, api_version: str, kind: str) -> ResourceType:
        found = next((r for r in KINDS if (r.api_version, r.kind) == (api_version, kind)), None)
        if found is None:
            raise ForgeError(f"the cluster does not serve kind {kind} in apiVersion {api_version}")
        return found

    @_locked
    def get(self, path: str) -> dict[str, Any] | None:
        found = self.api.objects.get(path)
        return copy.deepcopy(found) if found is not None else None

    @_locked
    def list(self, path: str, selector: str | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for p, o in sorted(self.api.objects.items())
                if p.rsplit("/", 1)[0] == path and _matches(o["metadata"].get("labels"), selector)]

    @_locked
    def apply(self, path: str, body: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        _, _, inside = path.partition("/namespaces/")
        namespace, sep, _ = inside.partition("/")
        if sep and f"/api/v1/namespaces/{namespace}" not in self.api.objects:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found')
        problem = _invalid(body)
        if problem:
            raise ApiError(422, "Invalid", problem)
        before = self.api.objects.get(path)
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        self._allocate_node_ports(obj, before)
        if before is None:
            meta["generation"] = 1
        else:  # fields other managers own (the controllers: status, the revision annotation) stay
            old = before["metadata"]
            meta.update({k: old[k] for k in ("uid", "resourceVersion", "generation") if k in old})
            meta["annotations"] = {**(old.get("annotations") or {}), **(meta.get("annotations") or {})}
            if not meta["annotations"]:
                del meta["annotations"]
            if "status" in before:
                obj["status"] = before["status"]
            if obj == before:
                return copy.deepcopy(before)
            if obj.get("spec") != before.get("spec"):
                meta["generation"] = meta.get("generation", 1) + 1
        if dry_run:
            return obj
        self.api.calls.append(("apply", path))
        stored = self.api.put(path, obj)
        if obj.get("kind") == "Deployment":
            self.api.roll_out(path, stored)
        return copy.deepcopy(stored)

    def _allocate_node_ports(self, obj: dict[str, Any], before: dict[str, Any] | None) -> None:
        """A NodePort Service keeps the node ports it was given; new ports get one."""
        spec = obj.get("spec") or {}
        if obj.get("kind") != "Service" or spec.get("type") not in ("NodePort", "LoadBalancer"):
            return
        given = {p.get("port"): p.get("nodePort") for p in ((before or {}).get("spec") or {}).get("ports") or []}
        for port in spec.get("ports") or []:
            port.setdefault("nodePort", given.get(port.get("port")) or 30000 + next(self.api._counter))

    @_locked
    def create(self, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        path = f"{collection}/{body['metadata']['name']}"
        self._allowed(path)
        if path in self.api.objects:
            raise ApiError(409, "AlreadyExists", f"{path} already exists")
        self.api.calls.append(("create", path))
        return copy.deepcopy(self.api.put(path, copy.deepcopy(body)))

    @_locked
    def merge_patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self._allowed(path)
        found = self.api.objects.get(path)
        if found is None:
            raise ApiError(404, "NotFound", f"{path} not found")
        self.api.calls.append(("patch", path))
        return copy.deepcopy(self.api.put(path, _merged(found, body)))

    def _allowed(self, path: str) -> None:
        if path in self.api.forbidden:
            raise ApiError(403, "Forbidden", f"{path}: forbidden for user fake")

    @_locked
    def delete(self, path: str, *, uid: str | None = None) -> None:
        found = self.api.objects.get(path)
        if found is None:
            raise ApiError(404, "NotFound", f"{path} not found")
        if path in self.api.recreated:
            found["metadata"]["uid"] = f"uid-{next(self.api._counter)}"
        if uid and found["metadata"]["uid"] != uid:
            raise ApiError(409, "Conflict", "Precondition failed: UID in precondition does not match")
        self.api.calls.append(("delete", path))
        self.api.remove(path)

    def server_version(self) -> str | None:
        return self.api.version

    def local_registry(self) -> str | None:
        return self.api.local_registry

    @_locked
    def pod_logs(self, namespace: str, pod: str, container: str, *, previous: bool = False,
                 tail: int | None = None) -> str:
        if (pod, container) not in self.api.logs:
            raise ApiError(500, "InternalError", KUBELET_DOWN)
        lines = self.api.logs[(pod, container)].splitlines()
        return "\n".join(lines[-tail:] if tail else lines)

    def follow_logs(self, namespace: str, pod: str, container: str, *, tail: int | None = None) -> Iterator[str]:
        yield from self.pod_logs(namespace, pod, container, tail=tail).splitlines()


def _merged(obj: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: mappings merge, null removes, anything else replaces."""
    if not isinstance(patch, dict) or not isinstance(obj, dict):
        return copy.deepcopy(patch)
    merged = copy.deepcopy(obj)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merged(merged.get(key), value)
    return merged


@dataclass
class FakeRegistry:
    """forge.images.ImageStore: the refs it has."""

    host: str
    images: set[str] = field(default_factory=set)
    up: bool = True

    def ping(self) -> None:
        if not self.up:
            raise ForgeError(f"registry {self.host} is unreachable: connection refused")

    def has_image(self, ref: str) -> bool:
        return ref in self.images


@dataclass
class FakeEngine:
    """forge.images.ImageEngine: local refs; what was built, pushed and untagged; `broken` refs fail to build."""

    registry: FakeRegistry | None = None
    images: set[str] = field(default_factory=set)
    built: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    untagged: list[str] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)  # image name -> the build error

    def has(self, ref: str) -> bool:
        return ref in self.images

    def build(self, image: Image, progress: Reporter) -> float:
        progress.update(image.ref, "building")
        if image.container.name in self.broken:
            progress.finish(image.ref, self.broken[image.container.name], ok=False)
            raise ForgeError(f"build of {image.ref} failed: {self.broken[image.container.name]}")
        self.built.append(image.ref)
        self.images.add(image.ref)
        return 0.0

    def push(self, image: Image, progress: Reporter) -> None:
        assert self.registry is not None and image.ref.startswith(self.registry.host + "/"), image.ref
        if not self.registry.up:
            raise ForgeError(f"push of {image.ref} to {self.registry.host} failed: connection refused")
        self.pushed.append(image.ref)
        self.registry.images.add(image.ref)
        progress.finish(image.ref, "pushed")

    def version(self) -> str:
        return "20.10.24"

    def builder(self) -> str:
        return "the fake builder"

    def platform(self) -> str:
        return "linux/amd64"

    def untag(self, ref: str) -> None:
        self.untagged.append(ref)
        self.images.discard(ref)


def backends(api: FakeAPIServer, engine: FakeEngine) -> Backends:
    """forge.context.Backends wired to the fakes; the rollout is polled every 10 ms."""
    def store(registry: str | None) -> FakeRegistry | None:
        if registry is None:
            return None
        assert engine.registry is not None and registry.split("/", 1)[0] == engine.registry.host, registry
        return engine.registry

    return Backends(connect=api.connect, engine=lambda: engine, store=store, poll=0.01)


class Lines(io.TextIOBase):
    """A stream that keeps what is written to it, one item per line printed (a message of several lines, such as a
    crash loop's last log lines, stays one item)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self.lines.append(text.removesuffix("\n"))
        return len(text)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False


@dataclass
class Recording:
    """A run context whose Output prints into `stdout` and `stderr` (Lines)."""

    ctx: Context
    stdout: Lines
    stderr: Lines


def recording(backend: Backends = REAL, *, target: Target | None = None, env: Mapping[str, str] | None = None,
              **output: bool) -> Recording:
    """A run context on `backend` whose Output (options: product, json_output, quiet, verbose) is recorded."""
    stdout, stderr = Lines(), Lines()
    out = Output(stdout=stdout, stderr=stderr, **output)
    ctx = Context(out=out, target=target or Target(), backends=backend, env=os.environ if env is None else env)
    return Recording(ctx, stdout, stderr)


@dataclass
class FakeDockerAPI:
    """docker.APIClient as far as forge.images.builders and the classic DockerEngine touch it (no local images)."""

    api_version: str = "1.41"
    os: str = "linux"
    arch: str = "amd64"  # the engine's (Go's name: amd64, arm64)
    pings: int = 0
    builds: int = 0
    versions: int = 0
    build_platforms: list[str] = field(default_factory=list)

    def ping(self) -> bool:
        self.pings += 1
        return True

    def version(self) -> dict[str, str]:
        self.versions += 1
        return {"Version": "20.10.24", "ApiVersion": self.api_version, "Os": self.os, "Arch": self.arch}

    def inspect_image(self, ref: str) -> dict[str, str]:
        raise docker.errors.ImageNotFound(f"No such image: {ref}")

    def build(self, **kwargs: Any) -> Iterator[dict[str, str]]:
        self.builds += 1
        self.build_platforms.append(kwargs["platform"])
        yield {"stream": "Step 1/1 : FROM scratch\n"}


@dataclass
class FakeBuildx:
    """forge.images.buildkit.Spawn: records each command line and environment, answers with `lines` and `code`."""

    lines: list[str] = field(default_factory=list)
    code: int = 0
    calls: list[tuple[list[str], dict[str, str]]] = field(default_factory=list)

    def __call__(self, argv: list[str], env: Mapping[str, str]) -> FakeBuildx:
        self.calls.append((argv, dict(env)))
        return self

    @property
    def stdout(self) -> list[str]:
        return [line + "\n" for line in self.lines]

    def wait(self) -> int:
        return self.code

    def kill(self) -> None:
        raise AssertionError("the build was not interrupted")
