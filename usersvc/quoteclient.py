"""The quote every usersvc answer carries, fetched from QOTM through the pod's Envoy sidecar.

The sidecar (egress listener on 127.0.0.1) owns retries and per-try timeouts; here only the overall timeout, and
a degraded answer instead of an error when QOTM cannot be reached: users are served either way.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

# Trace context and request id, passed on to QOTM so its span joins the trace of the request that caused it
# (W3C trace context for OpenTelemetry, B3 for Zipkin, Envoy's x-request-id).
TRACE_HEADERS = ("traceparent", "tracestate", "x-request-id", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid",
                 "x-b3-sampled", "x-b3-flags", "b3")


@dataclass(frozen=True)
class Quote:
    text: str | None
    problem: str | None  # None when the quote came; else why not, in one line

    def to_json(self) -> dict[str, str | None]:
        return {"quote": self.text, "quote_error": self.problem}


class QuoteClient:
    def __init__(self, url: str, timeout: float):
        self.url, self.timeout = url, timeout

    def fetch(self, incoming: Mapping[str, str]) -> Quote:
        """A quote from QOTM, or Quote(None, reason) when QOTM fails, is slow or answers nonsense."""
        headers = {name: incoming[name] for name in TRACE_HEADERS if name in incoming}
        request = urllib.request.Request(self.url, headers={**headers, "accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = json.loads(response.read(64 * 1024))
        except urllib.error.HTTPError as exc:
            return Quote(None, f"qotm answered {exc.code}")
        except (OSError, ValueError) as exc:  # refused, reset, timed out (OSError subclasses), bad JSON
            return Quote(None, f"qotm unavailable: {getattr(exc, 'reason', exc)}")
        quote = body.get("quote") if isinstance(body, dict) else None
        if not isinstance(quote, str):
            return Quote(None, "qotm answered without a quote")
        return Quote(quote, None)
