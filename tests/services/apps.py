"""Where the services live, and their app modules imported straight from those directories."""

from __future__ import annotations

import asyncio
import email.message
import http.client
import importlib.util
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.platform.base_images import ROOT

QOTM_DIR = ROOT / "qotm"
AUTH_DIR = ROOT / "envoy-canary" / "auth"


def load(path: Path, name: str) -> ModuleType:
    """Import `path` once as module `name` (the directories are not packages; the app keeps its metrics
    in the process-wide Prometheus registry, so it must not be imported twice)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def qotm() -> ModuleType:
    return load(QOTM_DIR / "qotm.py", "qotm_app")


def auth() -> ModuleType:
    return load(AUTH_DIR / "auth.py", "auth_app")


@dataclass
class Reply:
    """One HTTP response as the auth server wrote it."""

    status_code: int
    headers: email.message.Message  # case-insensitive: headers["x-auth-reason"], "name" in headers
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode()


class _Sink:
    """The writer end of an in-memory connection: collects what the server writes."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        return None


class _Wire:  # what http.client.HTTPResponse reads a response from
    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self.data)


def exchange(check: Callable[..., object], raw: bytes) -> bytes:
    """Feed `raw` bytes to the auth server's connection handler (then end of input); all it wrote back."""
    auth_module = auth()
    sink = _Sink()

    async def serve() -> None:
        reader = asyncio.StreamReader(limit=auth_module.MAX_HEAD)
        reader.feed_data(raw)
        reader.feed_eof()
        await auth_module.serve_connection(check, reader, sink)

    asyncio.run(serve())
    return bytes(sink.data)


class AuthClient:
    """Requests to the auth server's own HTTP handling (auth.serve_connection) over in-memory streams: its real
    parsing, routing and encoding, no socket."""

    def __init__(self, check: Callable[..., object]) -> None:
        self.check = check

    def open(self, path: str, method: str = "GET", headers: dict[str, str] | None = None,
             data: bytes | None = None) -> Reply:
        lines = [f"{method} {path} HTTP/1.1", "host: auth", *(f"{k}: {v}" for k, v in (headers or {}).items())]
        if data is not None:
            lines.append(f"content-length: {len(data)}")
        raw = "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + (data or b"")
        response = http.client.HTTPResponse(_Wire(exchange(self.check, raw)), method=method)  # type: ignore[arg-type]
        response.begin()
        return Reply(response.status, response.msg, response.read())

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.open(path, "GET", **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.open(path, "POST", **kwargs)
