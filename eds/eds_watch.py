"""The namespace's EndpointSlices, kept current by a list-then-watch loop with the official Kubernetes client."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

log = logging.getLogger("eds.watch")


class SliceCache:
    """EndpointSlices by name, and a version that changes whenever one does. Thread-safe."""

    def __init__(self) -> None:
        self._slices: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.synced = threading.Event()  # set after the first complete list

    def replace(self, slices: list[dict[str, Any]]) -> None:
        with self._lock:
            self._slices = {s["metadata"]["name"]: s for s in slices}
        self.synced.set()

    def apply(self, event_type: str, endpoint_slice: dict[str, Any]) -> None:
        name = endpoint_slice["metadata"]["name"]
        with self._lock:
            if event_type == "DELETED":
                self._slices.pop(name, None)
            else:
                self._slices[name] = endpoint_slice

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._slices.values())

    def version(self, resources: list[dict[str, Any]]) -> str:
        """A version of an answer: a hash of its content, so an unchanged answer keeps its version."""
        return hashlib.sha256(json.dumps(resources, sort_keys=True).encode()).hexdigest()[:16]


class Watcher:
    """Lists the namespace's EndpointSlices, then watches from that resourceVersion; lists again when the watch
    ends or the API says the version is too old (410 Gone). Only `list` and `watch` on endpointslices are used."""

    def __init__(self, api: client.DiscoveryV1Api, namespace: str, cache: SliceCache, timeout_seconds: int = 240):
        self.api, self.namespace, self.cache, self.timeout_seconds = api, namespace, cache, timeout_seconds
        self.stopped = threading.Event()

    def _list(self) -> str:
        response = self.api.list_namespaced_endpoint_slice(self.namespace, _preload_content=False)
        body = json.loads(response.data)
        self.cache.replace(body.get("items") or [])
        version: str = body["metadata"]["resourceVersion"]
        return version

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                version = self._list()
                stream = watch.Watch()
                for event in stream.stream(self.api.list_namespaced_endpoint_slice, self.namespace,
                                           resource_version=version, timeout_seconds=self.timeout_seconds,
                                           allow_watch_bookmarks=True):
                    if self.stopped.is_set():
                        stream.stop()
                        break
                    kind, raw = event["type"], event["raw_object"]
                    if kind == "ERROR":  # e.g. 410 Gone: list again
                        log.info("watch ended: %s", raw.get("message", raw))
                        break
                    if kind in ("ADDED", "MODIFIED", "DELETED"):
                        self.cache.apply(kind, raw)
            except ApiException as exc:
                log.warning("EndpointSlices of %s: %s %s; retrying in 2 s", self.namespace, exc.status, exc.reason)
                self.stopped.wait(2)
            except Exception as exc:  # connection refused, reset, timeout: the API server may come back
                log.warning("EndpointSlices of %s: %s; retrying in 2 s", self.namespace, exc)
                self.stopped.wait(2)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="eds-watch", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stopped.set()

