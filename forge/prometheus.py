"""The Prometheus HTTP API, as far as `forge canary status` asks it: instant queries (a backend of the run context,
forge.context.Backends.prometheus; the unit tests pass a function answering from recorded data)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from forge.errors import ForgeError
from forge.network import describe_error

Query = Callable[[str], list[dict[str, Any]]]  # PromQL instant query -> the API's data.result


def prometheus(url: str, timeout: float = 10) -> Query:
    """An instant-query function for the Prometheus at `url`; ForgeError when it cannot answer."""
    base = url.rstrip("/")

    def query(promql: str) -> list[dict[str, Any]]:
        try:
            resp = requests.get(f"{base}/api/v1/query", params={"query": promql}, timeout=timeout)
        except requests.RequestException as exc:
            raise ForgeError(f"Prometheus at {base} is unreachable: {describe_error(exc)}", detail=str(exc)) from exc
        try:
            body = resp.json()
        except ValueError:
            raise ForgeError(f"Prometheus at {base}: answered {resp.status_code} without JSON", resp.text[:2000],
                             hint="is it Prometheus?") from None
        if body.get("status") != "success":
            raise ForgeError(f"Prometheus at {base}: query failed: {body.get('errorType')}: {body.get('error')}",
                             detail=promql)
        return body["data"]["result"]

    return query
