"""`class down`: delete everything of the class by its label, wait until it is gone, and check that nothing of
it is left anywhere in the cluster (every kind the API serves, every namespace)."""

from __future__ import annotations

import time
from collections.abc import Callable

from classroom.api import ClassAPI
from classroom.errors import ClassError
from classroom.names import LABEL_CLASS

Say = Callable[[str], None]
SHOWN = 8


def leftovers(api: ClassAPI, klass: str) -> list[str]:
    """Every object in the cluster that carries the class's label, as Kind/[namespace/]name."""
    found = []
    for kind in api.kinds():
        for obj in api.list(kind.api_version, kind.kind, "", f"{LABEL_CLASS}={klass}"):
            meta = obj.get("metadata") or {}
            where = f"{meta['namespace']}/" if meta.get("namespace") else ""
            found.append(f"{kind.kind}/{where}{meta.get('name')}")
    return sorted(found)


def _wait_namespaces_gone(api: ClassAPI, klass: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while names := [ns["metadata"]["name"] for ns in api.list("v1", "Namespace", "", f"{LABEL_CLASS}={klass}")]:
        if time.monotonic() > deadline:
            raise ClassError(f"class {klass}: namespaces still terminating after {timeout:g} s: {', '.join(names)} "
                             "(kubectl get namespace NAME -o yaml shows what holds them)")
        time.sleep(1)


def down(api: ClassAPI, klass: str, say: Say, timeout: float = 300) -> int:
    """Delete the class; the number of namespaces deleted. ClassError naming what is left, if anything is."""
    namespaces = [ns["metadata"]["name"] for ns in api.list("v1", "Namespace", "", f"{LABEL_CLASS}={klass}")]
    for name in namespaces:
        api.delete("v1", "Namespace", "", name)
    say(f"class {klass}: deleting {len(namespaces)} namespaces, waiting for them to go")
    _wait_namespaces_gone(api, klass, timeout)
    # The admission policy last: it guards the seats until their namespaces are gone.
    for api_version, kind in (("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"),
                              ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy")):
        for obj in api.list(api_version, kind, "", f"{LABEL_CLASS}={klass}"):
            api.delete(api_version, kind, "", obj["metadata"]["name"])
    left = leftovers(api, klass)
    if left:
        raise ClassError(f"class {klass}: {len(left)} objects are left: {', '.join(left[:SHOWN])}"
                         + (f" and {len(left) - SHOWN} more" if len(left) > SHOWN else ""))
    return len(namespaces)
