"""`forge list`: every build forge deployed in the namespace, with versions and readiness."""

from __future__ import annotations

from dataclasses import dataclass

from forge.cluster.listing import Row, rows, table
from forge.context import Context


@dataclass(frozen=True)
class ListRequest:
    """No options beyond the target (-n, --context) and the output format (the run context's)."""


def list_deployed(req: ListRequest, ctx: Context) -> list[Row]:
    """A table (or JSON with --output json) of the builds; a note on stderr when there is none."""
    cluster = ctx.cluster()
    found = rows(cluster)
    if found or ctx.out.json_output:
        ctx.out.result(table(found), [r.to_dict() for r in found])
    else:
        ctx.out.info(f"nothing deployed by forge in namespace {cluster.namespace} (context {cluster.context})")
    return found
