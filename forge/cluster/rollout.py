"""After an apply (forge deploy, forge canary promote): wait for the rollout, then say where to reach what was
deployed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from forge.cluster import ClusterAPI
from forge.cluster.apply import Applied
from forge.cluster.endpoints import Endpoint, endpoints
from forge.cluster.kube import ObjectRef
from forge.cluster.wait import Waiter
from forge.output import Output


def finish(cluster: ClusterAPI, results: Sequence[Applied], timeout: float, out: Output, poll: float = 1.0,
           forwarded: Mapping[str, str] | None = None) -> None:
    """Wait for every workload applied to roll out (ForgeError with the pods' reasons when one does not), then print
    one `NAME: reach Service/... at URL` line per Service (`forwarded`: endpoints.service_urls)."""
    refs = [ref for r in results for ref in _refs(r)]
    Waiter(cluster, out, poll=poll).wait(refs, timeout)
    for result in results:
        for found in _endpoints(cluster, result, forwarded):
            out.info(f"{result.build.name}: reach {found}")


def _endpoints(cluster: ClusterAPI, result: Applied, forwarded: Mapping[str, str] | None) -> list[Endpoint]:
    services = [o for o in result.objects if o.get("kind") == "Service"]
    return endpoints(cluster, services, preferred=result.build.name, forwarded=forwarded)


def _refs(result: Applied) -> list[ObjectRef]:
    return [
        ObjectRef(o["apiVersion"], o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
        for o in result.objects
    ]
