"""The cluster forge talks to: kubeconfig and context, namespace, and a small REST layer over the official client.

forge needs only a handful of calls (server-side apply, get, list, delete, pod logs), addressed by apiVersion and
kind, so it resolves resources with the API's own discovery, one group version at a time, instead of a
hard-coded kind list.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import urllib3
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from forge.errors import ForgeError
from forge.model import MANAGER

T = TypeVar("T")
DEFAULT_KUBECONFIG = "~/.kube/config"
REQUEST_TIMEOUT = (5, 30)  # seconds: connect, read
LOCAL_REGISTRY_CONFIGMAP = ("kube-public", "local-registry-hosting")  # KEP-1755
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"


class ApiError(ForgeError):
    """The API server answered with an error status."""

    def __init__(self, status: int, reason: str, message: str, detail: str | None = None, hint: str | None = None):
        super().__init__(message or reason or f"HTTP {status}", detail, hint=hint)
        self.status = status
        self.reason = reason  # the Status reason, e.g. "Invalid", "NotFound", "Forbidden"

    @classmethod
    def from_exception(cls, exc: ApiException) -> ApiError:
        body = exc.body if isinstance(exc.body, str) else ""
        try:
            status = json.loads(body)
        except ValueError:
            status = None
        if not isinstance(status, dict):  # not a Kubernetes Status: a proxy's or web server's answer
            hint, first = not_the_api(body), (body.strip().splitlines() or [""])[0][:200]
            message = first if first and not hint else f"HTTP {exc.status} {exc.reason or ''}".strip()
            return cls(exc.status or 0, str(exc.reason or ""), message, detail=body or None, hint=hint)
        message = status.get("message") or str(exc.reason)
        return cls(exc.status or 0, status.get("reason") or str(exc.reason or ""), message.strip())

    def explain(self) -> str:
        """The API's message without its `Kind.group "name" is invalid:` preamble (forge names the object itself)."""
        message = self.message
        if self.reason == "Invalid" and " is invalid: " in message:
            return message.split(" is invalid: ", 1)[1]
        return message


@dataclass(frozen=True)
class ResourceType:
    """A kind as the API serves it."""

    api_version: str  # "apps/v1", or "v1" for the core group
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        if name:
            base += f"/{quote(name, safe='')}"
        if subresource:
            base += f"/{subresource}"
        return base


@dataclass(frozen=True)
class ObjectRef:
    """Enough to find one object again: what the inventory records."""

    api_version: str
    kind: str
    namespace: str  # "" for cluster-scoped objects
    name: str

    def ident(self) -> str:
        return f"{self.kind}/{self.name}"

    def to_dict(self) -> dict[str, str]:
        return {"apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace, "name": self.name}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectRef:
        return cls(str(data["apiVersion"]), str(data["kind"]), str(data.get("namespace") or ""), str(data["name"]))


def kubeconfig_paths() -> str:
    """KUBECONFIG (a path list, as kubectl reads it), else ~/.kube/config."""
    return os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG


def _existing(paths: str) -> list[str]:
    return [p for p in (os.path.expanduser(x) for x in paths.split(os.pathsep) if x) if Path(p).is_file()]


def label_selector(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


@dataclass
class Cluster:
    """One kubeconfig context and the namespace forge works in."""

    context: str
    namespace: str
    api: k8s_client.ApiClient
    _types: dict[str, dict[str, ResourceType]] = field(default_factory=dict, repr=False)

    @property
    def server(self) -> str:
        return str(self.api.configuration.host)

    def target(self) -> str:
        """What forge prints before it changes anything."""
        return f"context: {self.context}  namespace: {self.namespace}"

    # -- raw requests -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        raw: bool = False,
        timeout: float | tuple[float, float] = REQUEST_TIMEOUT,
    ) -> Any:
        """One API call; parsed JSON (or text with raw=True). ApiError for an error status, ForgeError when the
        server cannot be reached."""
        response = self._call(method, path, query, body, content_type, "*/*" if raw else "application/json", timeout)
        data = self._unreachable_on_error(response.read)
        text = data.decode("utf-8", "replace")
        if raw:
            return text
        try:
            return json.loads(text) if text else {}
        except ValueError:
            raise ForgeError(f"context {self.context} at {self.server}: HTTP {response.status} from {path} is not "
                             "JSON", text, hint=not_the_api(text)) from None

    def stream_lines(self, path: str, *, query: dict[str, Any] | None = None) -> Iterator[str]:
        """GET a streaming endpoint (pod logs with follow=true): its lines as they arrive, until the server ends
        the stream. No read timeout: a quiet stream is not a dead one."""
        response = self._call("GET", path, query, None, "application/json", "*/*", (REQUEST_TIMEOUT[0], None))
        pending = b""
        chunks = response.response.stream(4096, decode_content=True)
        while chunk := self._unreachable_on_error(lambda: next(chunks, b"")):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            yield from (line.decode("utf-8", "replace") for line in lines)
        if pending:
            yield pending.decode("utf-8", "replace")

    def _call(self, method: str, path: str, query: dict[str, Any] | None, body: Any, content_type: str,
              accept: str, timeout: float | tuple[float, float | None]) -> Any:
        """Send one request; the (unread) response when its status is 2xx, else ApiError."""
        params = [(k, v) for k, v in (query or {}).items() if v is not None]
        headers = {"Accept": accept, "Content-Type": content_type}
        request = self.api.param_serialize(
            method, path, query_params=params, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        try:
            response = self._unreachable_on_error(lambda: self.api.call_api(*request, _request_timeout=timeout))
        except ApiException as exc:
            raise self._refused(ApiError.from_exception(exc)) from None
        if not 200 <= response.status <= 299:
            data = self._unreachable_on_error(response.read)
            raise self._refused(ApiError.from_exception(ApiException(status=response.status, reason=response.reason,
                                                                     body=data.decode("utf-8", "replace"))))
        return response

    def _refused(self, err: ApiError) -> ApiError:
        """A 401 (the API server's whole message is "Unauthorized") as one line naming the context and server: it
        answered, and refused the credentials; it is not a network problem."""
        if err.status != 401:
            return err
        return ApiError(401, err.reason, f"context {self.context} at {self.server} refused the credentials (401 "
                        "Unauthorized)", err.detail, hint="the kubeconfig's token or certificate expired or was "
                        "revoked: get new credentials (a classroom seat: ask the instructor for a new join file)")

    def _unreachable_on_error(self, action: Callable[[], T]) -> T:
        """Run a network step; a connection failure becomes one ForgeError line naming the context and server."""
        try:
            return action()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ForgeError(
                f"cluster unreachable: context {self.context} at {self.server}: {_short_reason(exc)}", str(exc)
            ) from None

    def get(self, path: str) -> dict[str, Any] | None:
        """GET; None when the object does not exist."""
        try:
            return self.request("GET", path)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, path: str, selector: str | None = None) -> list[dict[str, Any]]:
        return list(self.request("GET", path, query={"labelSelector": selector}).get("items", []))

    def apply(self, path: str, body: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        query = {"fieldManager": MANAGER, "force": "true", "dryRun": "All" if dry_run else None}
        return self.request("PATCH", path, query=query, body=body, content_type=APPLY_CONTENT_TYPE)

    def create(self, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", collection, body=body)

    def merge_patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", path, body=body, content_type=MERGE_PATCH)

    def delete(self, path: str, *, uid: str | None = None) -> None:
        options: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
        if uid:
            options["preconditions"] = {"uid": uid}
        self.request("DELETE", path, body=options)

    # -- discovery ----------------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> ResourceType:
        """The served resource for apiVersion+kind; ForgeError when the cluster does not serve it."""
        if api_version not in self._types:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            listing = self.get(path)
            self._types[api_version] = {
                r["kind"]: ResourceType(api_version, r["kind"], r["name"], bool(r.get("namespaced")))
                for r in (listing or {}).get("resources", [])
                if "/" not in r["name"]  # subresources such as deployments/scale
            }
        found = self._types[api_version].get(kind)
        if found is None:
            raise ForgeError(f"the cluster does not serve kind {kind} in apiVersion {api_version}")
        return found

    # -- cluster facts --------------------------------------------------------------------------

    def server_version(self) -> str | None:
        """e.g. "1.36.1"; None for an unstamped development build (v0.0.0). Also proves the cluster answers."""
        info = self.request("GET", "/version")
        version = str(info.get("gitVersion") or "").lstrip("v").split("-", 1)[0].split("+", 1)[0]
        return None if not version or version.startswith("0.") else version

    def local_registry(self) -> str | None:
        """The registry host the cluster advertises (KEP-1755 ConfigMap, as kind's recipe creates), if any."""
        namespace, name = LOCAL_REGISTRY_CONFIGMAP
        try:
            cm = self.get(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        except ApiError as exc:
            if exc.status == 403:
                return None
            raise
        raw = ((cm or {}).get("data") or {}).get("localRegistryHosting.v1")
        if not raw:
            return None
        try:
            hosting = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ForgeError(f"ConfigMap {namespace}/{name}: localRegistryHosting.v1 is not YAML: {exc}") from None
        host = hosting.get("host") if isinstance(hosting, dict) else None
        return str(host) if host else None

    def pod_logs(self, namespace: str, pod: str, container: str, *, previous: bool = False,
                 tail: int | None = None) -> str:
        """A previous run's log is read while waiting for a rollout: a shorter read timeout bounds that wait."""
        return self.request(
            "GET",
            _log_path(namespace, pod),
            query={"container": container, "previous": "true" if previous else None, "tailLines": tail},
            raw=True,
            timeout=(5, 10) if previous else REQUEST_TIMEOUT,
        )

    def follow_logs(self, namespace: str, pod: str, container: str, *, tail: int | None = None) -> Iterator[str]:
        return self.stream_lines(_log_path(namespace, pod),
                                 query={"container": container, "follow": "true", "tailLines": tail})


def _log_path(namespace: str, pod: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}/log"


def not_the_api(body: str) -> str | None:
    """The hint when an answer is not from a Kubernetes API server (e.g. an HTML login or error page)."""
    if body.lstrip()[:200].lower().startswith(("<!doctype html", "<html")) or "<html" in body[:500].lower():
        return "an HTML page: is the kubeconfig's server address a Kubernetes API server? -v shows the page"
    return None


def _short_reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason or exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "No route to host",
                   "certificate verify failed"):
        if marker.lower() in text.lower():
            return marker.lower()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def connect(*, context: str | None = None, namespace: str | None = None) -> Cluster:
    """Load the kubeconfig (KUBECONFIG or ~/.kube/config) for `context` (default: the current one).

    The namespace is `namespace` (the -n flag, or forge.yaml's), else the context's, else "default". No request is
    made here: call server_version() to prove the cluster answers.
    """
    paths = kubeconfig_paths()
    by_name, current = _contexts(paths)
    name = context or current
    if not name:
        raise ForgeError(f"kubeconfig {paths}: no current context; its contexts: {_names(by_name)}",
                         hint="pass --context")
    if name not in by_name:
        raise ForgeError(f"kubeconfig {paths}: no context named {name!r} (contexts: {_names(by_name)})")
    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_kube_config(
            config_file=paths, context=name, client_configuration=configuration, persist_config=False
        )
    except (ConfigException, OSError, ValueError) as exc:
        raise ForgeError(f"kubeconfig {paths}: context {name}: {_first_line(exc)}") from None
    configuration.retries = 1  # a refused connection should fail fast, not after urllib3's 3 retries
    context_namespace = (by_name[name].get("context") or {}).get("namespace")
    return Cluster(
        context=name,
        namespace=namespace or context_namespace or "default",
        api=k8s_client.ApiClient(configuration),
    )


def _contexts(paths: str) -> tuple[dict[str, dict[str, Any]], str | None]:
    """Contexts by name and the current context of the kubeconfig files (as kubectl merges them: first wins)."""
    files = _existing(paths)
    if not files:
        raise ForgeError(f"no kubeconfig: {paths} does not exist",
                         hint="set KUBECONFIG or create ~/.kube/config, e.g. with kind")
    contexts: dict[str, dict[str, Any]] = {}
    current = None
    for path in files:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ForgeError(f"kubeconfig {path}: cannot read: {_first_line(exc)}") from None
        if not isinstance(data, dict):
            raise ForgeError(f"kubeconfig {path}: not a kubeconfig (expected a mapping)")
        for entry in data.get("contexts") or []:
            if isinstance(entry, dict) and entry.get("name"):
                contexts.setdefault(str(entry["name"]), entry)
        current = current or data.get("current-context") or None
    return contexts, current


def _names(by_name: dict[str, Any]) -> str:
    return ", ".join(sorted(by_name)) or "none"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# Apply order (as Helm installs): what others refer to goes first. Unknown kinds (custom resources) go last;
# deletion runs in the reverse order.
_APPLY_ORDER = (
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodDisruptionBudget", "ServiceAccount", "Secret",
    "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition",
    "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service", "DaemonSet", "Pod", "ReplicaSet",
    "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
)


def kind_rank(kind: str) -> int:
    return _APPLY_ORDER.index(kind) if kind in _APPLY_ORDER else len(_APPLY_ORDER)
