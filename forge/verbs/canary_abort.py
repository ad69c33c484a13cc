"""`forge canary abort`: delete the canary's objects and inventory; the stable deployment is untouched."""

from __future__ import annotations

from forge.cluster.kube import ObjectRef
from forge.cluster.listing import deployed
from forge.cluster.prune import delete_build
from forge.config.profiles import CANARY
from forge.verbs.deploy import REAL, Backends, Say, Target


def abort(service: str, target: Target, say: Say, backends: Backends = REAL) -> list[ObjectRef]:
    """The objects deleted."""
    cluster = target.connect_here(backends)
    say(cluster.target())
    inv = deployed(cluster, service, CANARY)
    say(f"deleting {inv.build_name} (version {inv.version})")
    return delete_build(cluster, inv, say)
