"""A stand-in for the Kubernetes API server, for unit tests of commands whose real counterpart the local control
plane cannot serve (kwok has no kubelet: no pod logs, no port-forward): plain HTTP on 127.0.0.1, GET only.

Routes map a path (query ignored) to a function of the parsed query returning (status, body): a JSON-able value,
a str, or an iterator of str lines, which is sent with chunked transfer encoding as it is produced (as the API
server streams `follow=true` logs). Every request is recorded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

Handler = Callable[[dict[str, str]], tuple[int, Any]]


def write_kubeconfig(path: Path, server: str, contexts: dict[str, str | None], current: str | None) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "not-a-secret"}}],
        "contexts": [
            {"name": name, "context": {"cluster": "c", "user": "u", **({"namespace": ns} if ns else {})}}
            for name, ns in contexts.items()
        ],
    }
    if current:
        config["current-context"] = current
    path.write_text(json.dumps(config))
    return path


class FakeApi:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stopped = threading.Event()
        api = self

        class Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                api.requests.append((parts.path, query))
                handler = api.routes.get(parts.path)
                status, body = handler(query) if handler else (404, {"kind": "Status", "reason": "NotFound",
                                                                     "message": f"{parts.path} not found"})
                if isinstance(body, Iterator):
                    self._stream(status, body)
                    return
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, status: int, lines: Iterator[str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for line in lines:
                    data = (line + "\n").encode()
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Request)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeApi:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()

    def hold(self, lines: list[str]) -> Iterator[str]:
        """A streamed answer: `lines`, then the connection stays open (a quiet follow) until the server stops."""
        yield from lines
        while not self.stopped.wait(0.05):
            pass
