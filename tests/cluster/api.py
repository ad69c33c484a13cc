"""A minimal HTTPS client for the apiserver (client-cert auth), enough for the launcher's
readiness checks and the fake node; tests use kubectl instead."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from .pki import CertPair


class ApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


class Api:
    def __init__(self, server: str, ca: str, client: CertPair) -> None:
        self.server = server.rstrip("/")
        self._ctx = ssl.create_default_context(cafile=ca)
        self._ctx.load_cert_chain(str(client.cert), str(client.key))

    def request(self, method: str, path: str, body: Any = None, timeout: float = 5.0) -> tuple[int, str]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self._ctx, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def get(self, path: str) -> dict[str, Any] | None:
        """The object at path, or None when it does not exist (404)."""
        status, text = self.request("GET", path)
        if status == 404:
            return None
        if status != 200:
            raise ApiError(status, text)
        result: dict[str, Any] = json.loads(text)
        return result

    def create(self, path: str, obj: dict[str, Any]) -> None:
        status, text = self.request("POST", path, obj)
        if status not in (200, 201, 409):  # 409: already there
            raise ApiError(status, text)
