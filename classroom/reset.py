"""`class reset SEAT`: that seat's cluster state only. Everything in its namespace that is not the class's goes
(the participant's Deployments, pods, Services, Secrets, claims, Roles, the progress record, ...), then the
seat's objects and registry are applied again. The namespace, the ServiceAccount and so the join file stay valid;
the registry keeps its images; other seats are not touched."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from classroom.api import ClassAPI, Kind
from classroom.applier import Applier, snapshot
from classroom.errors import ClassError
from classroom.facts import require_record, seats
from classroom.names import LABEL_CLASS, seat_namespace
from classroom.up import class_spec, provision_seat
from forge.cluster.kube import kind_rank

Say = Callable[[str], None]
# Recreated at once by its controller, whatever is deleted: not waited for. (The `default` ServiceAccount is the
# class's: labelled by class up, so never deleted.)
RECREATED = {("ConfigMap", "kube-root-ca.crt")}
SKIPPED_KINDS = {"Event"}  # deleting the pods makes new ones


@dataclass
class ResetResult:
    seat: str
    deleted: int  # objects that were there and are gone
    objects: str  # the re-apply's summary


def _leftovers(api: ClassAPI, kinds: list[Kind], namespace: str) -> list[str]:
    found = []
    for kind in kinds:
        for obj in api.list(kind.api_version, kind.kind, namespace, f"!{LABEL_CLASS}"):
            name = (obj.get("metadata") or {}).get("name", "?")
            if (kind.kind, name) not in RECREATED:
                found.append(f"{kind.kind}/{name}")
    return found


def reset(api: ClassAPI, klass: str, name: str, registry_image: str, say: Say, timeout: float = 120) -> ResetResult:
    record = require_record(api, klass)
    existing = seats(api, klass)
    if name not in existing:
        raise ClassError(f"class {klass} has no seat {name} (seats: {', '.join(existing) or 'none'})")
    namespace = seat_namespace(klass, name)
    # Workloads before their pods, pods before their claims (forge's deletion order), so nothing is re-made.
    kinds = sorted((k for k in api.kinds() if k.namespaced and k.collection_delete and k.kind not in SKIPPED_KINDS),
                   key=lambda k: kind_rank(k.kind), reverse=True)
    before = _leftovers(api, kinds, namespace)
    for kind in kinds:
        api.delete_collection(kind.api_version, kind.kind, namespace, f"!{LABEL_CLASS}")
    say(f"seat {name}: deleting {len(before)} objects of the participant's in namespace {namespace}")
    deadline = time.monotonic() + timeout
    while left := _leftovers(api, kinds, namespace):
        if time.monotonic() > deadline:
            raise ClassError(f"seat {name}: still in namespace {namespace} after {timeout:g} s: {', '.join(left[:5])}"
                             + (f" and {len(left) - 5} more" if len(left) > 5 else ""))
        time.sleep(1)
    applier = Applier(api, snapshot(api, klass))
    provision_seat(api, applier, class_spec(api, record, registry_image), record.registry, name, None)
    return ResetResult(name, len(before), applier.summary())
