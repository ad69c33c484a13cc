"""`./shopbox.sh join FILE doctor`: is this join file good to work with, one line each (doctor's format): the file
(format, expiry), the API server (reachable from here), the token (accepted, not expired, the seat's), the seat
(the cluster holds it: same cluster id, class and seat), the registry (accepts the seat's credentials: a push
would be allowed) and the quota (what is left). A check that cannot run because an earlier one failed is SKIP.

The cluster and the registry are reached through `Probe`; the unit tests replace it.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import requests

from classroom import joinfile
from classroom.errors import ClassError
from classroom.joined import refused, seat
from classroom.joined.forward import Endpoint, KubectlLauncher, free_port
from classroom.joinfile import Join
from classroom.model import timestamp
from forge.cluster.kube import Cluster
from forge.cluster.quota import usage
from forge.errors import ForgeError
from forge.images.registry import describe_error
from shopbox_setup.doctor import Check

ASK = refused.NEW_FILE
# Quota entries shown (the rest are counted in the check, shown only when full).
SHOWN = ("pods", "requests.cpu", "requests.memory", "limits.memory", "requests.storage")
NEARLY_FULL = Decimal("0.9")


class Probe(Protocol):
    def version(self) -> str: ...

    def username(self) -> str:
        """Who the token is (SelfSubjectReview); ApiError 401 when the cluster refuses it."""
        ...

    def seat_info(self) -> dict[str, str] | None: ...

    def quotas(self) -> list[dict[str, Any]]: ...

    def registry_status(self) -> int | None:
        """The registry's answer to GET /v2/ with the seat's credentials (None: no answer)."""
        ...


def left_in(join: Join, now: datetime) -> str:
    seconds = int((join.expires - now).total_seconds())
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min" if seconds >= 3600 else f"{seconds // 60} min"


def quota_check(quotas: list[dict[str, Any]]) -> Check:
    if not quotas:
        return Check("ok", "quota", "no ResourceQuota in the seat's namespace")
    shown, full, nearly = [], [], []
    for quota in quotas:
        hard = (quota.get("status") or {}).get("hard") or {}
        used = (quota.get("status") or {}).get("used") or {}
        for key, (have, most) in sorted(usage(quota).items()):
            if most == 0:
                continue  # services.nodeports: 0 and the like: never used by pages 3-9
            text = f"{key} {used.get(key, '0')}/{hard[key]}"
            if have >= most:
                full.append(text)
            elif have >= NEARLY_FULL * most:
                nearly.append(text)
            if key in SHOWN:
                shown.append(text)
    if full:
        return Check("fail", "quota", f"full: {', '.join(full)} (used: {', '.join(shown)})",
                     "delete what you no longer need (`forge list`, `forge delete SERVICE`, `kubectl get pods`)")
    detail = "left: " + ", ".join(shown)
    if nearly:
        return Check("warn", "quota", f"{detail}; nearly full: {', '.join(nearly)}",
                     "delete what you no longer need (`forge list`, `forge delete SERVICE`)")
    return Check("ok", "quota", detail)


def checks(path: Path, probe_for: Callable[[Join], Probe], now: datetime) -> Iterator[Check]:
    """Every check, in order; after a failure the checks that depend on it are SKIP."""
    try:
        join = joinfile.load(path, now)
    except ClassError as err:
        yield Check("fail", "join-file", str(err), ASK)
        yield from (Check("skip", name, "needs a usable join file") for name in
                    ("api-server", "token", "seat", "registry", "quota"))
        return
    yield Check("ok", "join-file", f"seat {join.seat} of class {join.klass}, namespace {join.namespace}, valid until "
                f"{timestamp(join.expires)} ({left_in(join, now)} left)")
    probe = probe_for(join)
    try:
        version = probe.version()
    except ForgeError as err:
        found = refused.explain(join, err)
        if found.kind in ("network", "error"):
            yield Check("fail", "api-server", found.what, found.fix)
            yield from (Check("skip", name, "needs the API server") for name in ("token", "seat", "registry",
                                                                                  "quota"))
            return
        # It answered: the refusal is the token's (401) or the call's (403).
        yield Check("ok", "api-server", f"{join.server} answers (HTTP {found.status} to the seat's token)")
        yield from _token_refused(found)
        return
    yield Check("ok", "api-server", f"{join.server} answers (Kubernetes {version})")
    expiry = joinfile.token_claims(join.token).get("exp")
    until = f", expires {timestamp(datetime.fromtimestamp(int(expiry), now.tzinfo))}" if expiry else ""
    try:
        yield Check("ok", "token", f"accepted: {probe.username()}{until}")
    except ForgeError as err:
        yield from _token_refused(refused.explain(join, err))
        return
    try:
        joinfile.verify(join, _Reader(probe))
    except ClassError as err:
        yield Check("fail", "seat", str(err), ASK)
        yield from (Check("skip", name, "needs the seat") for name in ("registry", "quota"))
        return
    except ForgeError as err:
        found = refused.explain(join, err)
        yield Check("fail", "seat", found.what, found.fix)
        yield from (Check("skip", name, "needs the seat") for name in ("registry", "quota"))
        return
    yield Check("ok", "seat", f"cluster {join.cluster_id} holds seat {join.seat} in namespace {join.namespace}")
    yield registry_check(join, probe)
    try:
        yield quota_check(probe.quotas())
    except ForgeError as err:
        found = refused.explain(join, err)
        yield Check("fail", "quota", f"cannot read the seat's quota: {found.what}", found.fix)


def _token_refused(found: refused.Refusal) -> Iterator[Check]:
    yield Check("fail", "token", found.what, found.fix)
    yield from (Check("skip", name, "needs an accepted token") for name in ("seat", "registry", "quota"))


def registry_check(join: Join, probe: Probe) -> Check:
    name = str(join.data["registry"]["name"])
    try:
        status = probe.registry_status()
    except ForgeError as err:
        return Check("fail", "registry", f"{name}: {err.message}", "ask the instructor to look at the seat's registry")
    if status == 200:
        return Check("ok", "registry", f"{name} accepts the seat's credentials: pushes are allowed")
    if status in (401, 403):
        return Check("fail", "registry", f"{name} refuses the seat's credentials (HTTP {status})", ASK)
    return Check("fail", "registry", f"{name} does not answer the registry API ({status or 'no answer'})",
                 "ask the instructor to look at the seat's registry")


@dataclass
class _Reader:
    probe: Probe

    def seat_info(self, join: Join) -> dict[str, str] | None:
        return self.probe.seat_info()


# -- the real probe --------------------------------------------------------------------------------------------


@dataclass
class ClusterProbe:
    join: Join
    cluster: Cluster
    kubeconfig: Path  # the join's kubeconfig as a file, for kubectl (the registry's port-forward)

    def version(self) -> str:
        return self.cluster.server_version() or "development build"

    def username(self) -> str:
        review = self.cluster.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body={
            "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        return str(((review.get("status") or {}).get("userInfo") or {}).get("username") or "?")

    def seat_info(self) -> dict[str, str] | None:
        found = self.cluster.get(joinfile.seat_info_path(self.join))
        return None if found is None else dict(found.get("data") or {})

    def quotas(self) -> list[dict[str, Any]]:
        return self.cluster.list(f"/api/v1/namespaces/{self.join.namespace}/resourcequotas")

    def registry_status(self) -> int | None:
        registry = self.join.data["registry"]
        host = str(registry["name"]).split("/", 1)[0]
        forward = next((f for f in seat.forwards(self.join) if f.name == "registry"), None)
        if forward is None:
            try:
                return _v2_status(f"https://{host}", registry)
            except requests.RequestException as err:
                raise ForgeError(f"cannot reach https://{host}: {describe_error(err)}") from None
        # Through a port-forward of our own, on a free port (the shell's may not be running).
        port = free_port()
        process = KubectlLauncher(self.kubeconfig).start(forward, Endpoint(forward.target, forward.port), port)
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if not process.alive():
                    raise ForgeError(f"cannot port-forward to pod {forward.namespace}/{forward.target}: "
                                     f"{process.reason()}")
                try:
                    return _v2_status(f"http://127.0.0.1:{port}", registry)
                except requests.ConnectionError:
                    time.sleep(0.3)
            raise ForgeError(f"the port-forward to pod {forward.namespace}/{forward.target} did not open in 15 s")
        finally:
            process.stop()


def _v2_status(base: str, registry: dict[str, Any]) -> int:
    """GET /v2/ with the seat's credentials: Basic, or the token a Bearer challenge's realm hands out."""
    auth = (str(registry.get("username") or ""), str(registry.get("password") or ""))
    first = requests.get(f"{base}/v2/", timeout=10)
    challenge = first.headers.get("WWW-Authenticate", "")
    if first.status_code != 401:
        return first.status_code
    if challenge.lower().startswith("bearer "):
        params = dict(part.split("=", 1) for part in challenge[7:].replace('"', "").split(",") if "=" in part)
        token = requests.get(params.get("realm", ""), params={"service": params.get("service")}, auth=auth,
                             timeout=10)
        if token.status_code != 200:
            return token.status_code
        bearer = token.json().get("token") or token.json().get("access_token") or ""
        return requests.get(f"{base}/v2/", headers={"Authorization": f"Bearer {bearer}"}, timeout=10).status_code
    basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    return requests.get(f"{base}/v2/", headers={"Authorization": f"Basic {basic}"}, timeout=10).status_code
