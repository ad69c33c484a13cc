"""eds: Envoy v3 endpoint discovery (EDS) for the pods behind Kubernetes Services, from their EndpointSlices.

Envoy asks with REST-JSON: `POST /v3/discovery:endpoints` with a DiscoveryRequest ({"resource_names": ["qotm"]}),
every `refresh_delay`; the answer is a DiscoveryResponse with one ClusterLoadAssignment per name (eds_translate.py).
`GET /health` answers 200 once the first list of EndpointSlices is in. Settings (environment): EDS_NAMESPACE
(default: the pod's own namespace), PORT (8080), LOG_LEVEL. In the cluster it uses its ServiceAccount's token;
elsewhere the kubeconfig (KUBECONFIG).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from eds_translate import CLA_TYPE, load_assignment
from eds_watch import SliceCache, Watcher

PATH = "/v3/discovery:endpoints"
MAX_BODY = 1024 * 1024  # Envoy sends its whole node description (every extension it has): ~80 KiB
SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
log = logging.getLogger("eds")


class BadRequest(ValueError):
    """A DiscoveryRequest we cannot answer: 400 with this one line."""


def resource_names(body: bytes) -> list[str]:
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        raise BadRequest("request body is not valid JSON; send a DiscoveryRequest like "
                         '{"resource_names": ["qotm"]}') from None
    if not isinstance(request, dict):
        raise BadRequest("request body must be a JSON object (a DiscoveryRequest)")
    type_url = request.get("type_url", CLA_TYPE)
    if type_url != CLA_TYPE:
        raise BadRequest(f"type_url {str(type_url)[:80]!r}: only {CLA_TYPE} is served here")
    names = request.get("resource_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise BadRequest("resource_names must be a non-empty list of Service names (EDS service_name)")
    return names


def discovery_response(cache: SliceCache, names: list[str]) -> dict[str, Any]:
    slices = cache.snapshot()
    resources = [load_assignment(name, slices) for name in names]
    return {"version_info": cache.version(resources), "resources": resources, "type_url": CLA_TYPE}


def handler_for(cache: SliceCache) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: Envoy polls on one connection

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/health":
                synced = cache.synced.is_set()
                self._send(200 if synced else 503, {"status": "ok" if synced else "listing EndpointSlices"})
            else:
                self._send(404, {"error": f"no {self.path[:80]}; POST {PATH} or GET /health"})

        def do_POST(self) -> None:
            if self.path != PATH:
                self._send(404, {"error": f"no {self.path[:80]}; POST {PATH}"})
                return
            length = self.headers.get("content-length", "0")
            if not length.isdigit() or int(length) > MAX_BODY:
                self._send(413, {"error": f"request body must be at most {MAX_BODY} bytes"})
                self.close_connection = True
                return
            body = self.rfile.read(int(length))
            if not cache.synced.is_set():
                self._send(503, {"error": "EndpointSlices not listed yet"})
                return
            try:
                self._send(200, discovery_response(cache, resource_names(body)))
            except BadRequest as exc:
                self._send(400, {"error": str(exc)})

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    return Handler


def serve(cache: SliceCache, host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), handler_for(cache))
    server.daemon_threads = True
    return server


def namespace() -> str:
    if os.environ.get("EDS_NAMESPACE"):
        return os.environ["EDS_NAMESPACE"]
    if SA_NAMESPACE.is_file():
        return SA_NAMESPACE.read_text().strip()
    sys.exit("eds: no namespace: set EDS_NAMESPACE (outside a pod there is no service account namespace)")


def main() -> None:
    from kubernetes import client, config  # imported here: the unit tests of the HTTP side need no client

    level = os.environ.get("LOG_LEVEL", "info").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        sys.exit(f"eds: LOG_LEVEL={level.lower()!r}: expected debug, info, warning, error or critical")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    port = os.environ.get("PORT", "8080")
    if not port.isdigit() or not 0 < int(port) < 65536:
        sys.exit(f"eds: PORT={port!r}: expected a port number")
    try:
        config.load_incluster_config()
    except config.ConfigException:
        try:
            config.load_kube_config()
        except (config.ConfigException, OSError) as exc:
            sys.exit(f"eds: no Kubernetes API to watch: not in a pod, and no usable kubeconfig ({exc})")
    ns = namespace()
    cache = SliceCache()
    Watcher(client.DiscoveryV1Api(), ns, cache).start()
    server = serve(cache, os.environ.get("HOST", "0.0.0.0"), int(port))
    log.info("serving EDS for the Services of namespace %s on :%s%s", ns, port, PATH)
    server.serve_forever()


if __name__ == "__main__":
    main()
