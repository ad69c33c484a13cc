"""The port-forwards a joined shell keeps open: the seat's edge and Prometheus, and its registry.

A seat's Services are ClusterIP (no NodePorts: CONVENTIONS.md 4) and a participant's laptop reaches only the API
server, so the joined shell reaches them through `kubectl port-forward`. A port-forward is bound to one pod and
ends when that pod goes (a rollout, a deleted pod, a `forge deploy`), so the forwarder does not hand out kubectl's
own port. It listens on each forward's port itself and, for every new connection, picks a pod that is ready now:

- every `interval` seconds (`Supervisor.tick`) it reads the ready pods of each target (a Service's, from its
  EndpointSlices; or one named pod, the registry `registry-SEAT-0` in the class namespace, the only pod there the
  seat may read and forward to) and keeps one kubectl port-forward ("tunnel") per ready pod on a free 127.0.0.1
  port: a new pod gets a tunnel, a pod no longer ready loses its tunnel, a tunnel whose kubectl ended is started
  again (its last error logged);
- a connection goes to the tunnels in turn; while there is none (a pod starting, a tunnel opening, a Service not
  deployed yet) it waits up to `WAIT` seconds, then gets an HTTP 503 that says why (every forward is HTTP: a
  browser shows it).

Two seams: `Targets` (the ready pods; the real one reads the cluster with the seat's token) and `Launcher` (the
tunnels' processes; the real one runs kubectl). The unit tests replace both; the proxy runs on real sockets.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from forge.errors import ForgeError

Log = Callable[[str], None]
INTERVAL = 1.0  # seconds between reads of the ready pods
WAIT = 10.0  # seconds a connection waits for a ready pod before its 503
CONNECT = 5.0  # seconds a connection tries a tunnel whose kubectl is still starting
SERVICE_TTL = 30.0  # seconds a Service's port name is kept (ClusterTargets)
POD_EVERY = 5.0  # seconds between reads of a pod forwarded to by name


@dataclass(frozen=True)
class Forward:
    """localhost:`listen` -> the ready pods of Service `target` (its port `port`), or pod `target` (port `port`)."""

    name: str  # what the participant knows it as: edge, prometheus, registry
    namespace: str
    kind: str  # "service" or "pod"
    target: str
    port: int
    listen: int

    def __str__(self) -> str:
        return f"{self.name} (localhost:{self.listen} -> {self.kind} {self.namespace}/{self.target}:{self.port})"


@dataclass(frozen=True)
class Endpoint:
    """A pod to forward to and the port on it."""

    pod: str
    port: int


class Targets(Protocol):
    def ready(self, forward: Forward) -> list[Endpoint] | None:
        """The ready pods `forward` may go to, in a stable order; None when its Service or pod does not exist.
        ForgeError when the cluster cannot be read."""
        ...


class Process(Protocol):
    def alive(self) -> bool: ...

    def stop(self) -> None: ...

    def reason(self) -> str:
        """Why it ended: its last line of error output, or its exit status."""
        ...


class Launcher(Protocol):
    def start(self, forward: Forward, endpoint: Endpoint, port: int) -> Process:
        """A port-forward from 127.0.0.1:`port` to `endpoint`."""
        ...


@dataclass
class Tunnel:
    endpoint: Endpoint
    port: int
    process: Process


class Route:
    """One forward's live state: its tunnels (one per ready pod) and why there are none. Thread-safe: the
    supervisor changes it, connection threads pick from it."""

    def __init__(self, forward: Forward) -> None:
        self.forward = forward
        self.tunnels: dict[Endpoint, Tunnel] = {}
        self.missing = f"no ready pod of {forward.kind} {forward.namespace}/{forward.target} yet"
        self._turn = itertools.count()
        self._changed = threading.Condition()

    def set(self, tunnels: dict[Endpoint, Tunnel], missing: str) -> None:
        with self._changed:
            self.tunnels, self.missing = dict(tunnels), missing
            self._changed.notify_all()

    def pick(self, deadline: float, avoid: Collection[int] = ()) -> Tunnel | None:
        """A tunnel (in turn), waiting until `deadline` (time.monotonic) while there is none (but `avoid`'s)."""
        with self._changed:
            while True:
                usable = [t for _, t in sorted(self.tunnels.items(), key=lambda kv: (kv[0].pod, kv[0].port))
                          if t.port not in avoid]
                if usable:
                    return usable[next(self._turn) % len(usable)]
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)


@dataclass
class _Said:
    text: str = ""


@dataclass
class Supervisor:
    """Keeps each forward's tunnels equal to its ready pods (`tick`, every `interval` seconds in `run`)."""

    forwards: list[Forward]
    targets: Targets
    launcher: Launcher
    log: Log
    free_port: Callable[[], int] = field(default_factory=lambda: free_port)
    routes: dict[str, Route] = field(default_factory=dict)
    _said: dict[str, _Said] = field(default_factory=dict)

    def route(self, forward: Forward) -> Route:
        return self.routes.setdefault(forward.name, Route(forward))

    def _say_once(self, forward: Forward, text: str) -> None:
        said = self._said.setdefault(forward.name, _Said())
        if text != said.text:
            self.log(text)
            said.text = text

    def tick(self) -> None:
        for forward in self.forwards:
            self._tick(forward, self.route(forward))

    def _tick(self, forward: Forward, route: Route) -> None:
        tunnels = dict(route.tunnels)
        for endpoint, tunnel in list(tunnels.items()):
            if not tunnel.process.alive():
                self.log(f"{forward.name}: the port-forward to pod {endpoint.pod} ended ({tunnel.process.reason()})")
                del tunnels[endpoint]
        try:
            ready = self.targets.ready(forward)
        except ForgeError as err:
            # The cluster cannot be read now: the tunnels stay (they may still work), none is started.
            self._say_once(forward, f"{forward.name}: cannot read {forward.kind} {forward.target}: {err}")
            route.set(tunnels, f"the cluster could not be read: {err}")
            return
        where = f"{forward.kind} {forward.namespace}/{forward.target}"
        missing = f"{where} does not exist (not deployed yet?)" if ready is None else f"no ready pod of {where} yet"
        for endpoint in [e for e in tunnels if e not in (ready or [])]:
            self.log(f"{forward.name}: pod {endpoint.pod} is no longer ready: its port-forward stops")
            tunnels.pop(endpoint).process.stop()
        for endpoint in ready or []:
            if endpoint not in tunnels:
                port = self.free_port()
                tunnels[endpoint] = Tunnel(endpoint, port, self.launcher.start(forward, endpoint, port))
                self.log(f"{forward.name}: localhost:{forward.listen} -> pod {forward.namespace}/{endpoint.pod}:"
                         f"{endpoint.port}")
        if not tunnels:
            self._say_once(forward, f"{forward.name}: {missing}")
        else:
            self._said.pop(forward.name, None)
        route.set(tunnels, missing)

    def stop(self) -> None:
        for route in self.routes.values():
            for tunnel in route.tunnels.values():
                tunnel.process.stop()
            route.set({}, "the forwarder stopped")

    def run(self, stop: threading.Event, interval: float = INTERVAL) -> None:
        """Tick every `interval` seconds until `stop` is set; then the tunnels stop."""
        try:
            while not stop.is_set():
                self.tick()
                stop.wait(interval)
        finally:
            self.stop()


# -- the proxy: each forward's listening port -------------------------------------------------------------------


def _connect(port: int, until: float) -> socket.socket | None:
    """A connection to 127.0.0.1:port, retried until `until` (a tunnel's kubectl takes a moment to listen)."""
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=2)
        except OSError:
            if time.monotonic() >= until:
                return None
            time.sleep(0.1)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            with contextlib.suppress(OSError):
                end.shutdown(how)


def unavailable(route: Route) -> bytes:
    body = f"shopbox: {route.forward.name}: {route.missing}\n".encode()
    return (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


def serve_connection(client: socket.socket, route: Route, wait: float = WAIT, connect: float = CONNECT) -> None:
    """Join `client` to a ready pod's tunnel (waiting up to `wait` seconds for one; `connect` seconds for a tunnel
    to listen before the next is tried), else answer 503."""
    deadline, tried = time.monotonic() + wait, set()
    with client:
        while True:
            tunnel = route.pick(deadline, tried)
            if tunnel is None:
                with contextlib.suppress(OSError):
                    client.sendall(unavailable(route))
                return
            upstream = _connect(tunnel.port, min(deadline, time.monotonic() + connect))
            if upstream is not None:
                break
            tried.add(tunnel.port)
        with upstream:
            upstream.settimeout(None)
            back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            back.start()
            _pump(client, upstream)
            back.join()


@dataclass
class Listener:
    """The forward's port: every connection is served on a thread of its own (serve_connection)."""

    route: Route
    address: str = "0.0.0.0"
    wait: float = WAIT
    connect: float = CONNECT
    server: socket.socket | None = None

    def open(self) -> Listener:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind((self.address, self.route.forward.listen))
        except OSError as err:
            server.close()
            raise ForgeError(f"{self.route.forward.name}: cannot listen on port {self.route.forward.listen}: "
                             f"{err.strerror}") from None
        server.listen(64)
        self.server = server
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        assert self.server is not None
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=serve_connection, args=(client, self.route, self.wait, self.connect),
                             daemon=True).start()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


# -- the real ones ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ClusterReader(Protocol):
    """What ClusterTargets reads through: forge's Cluster (get/list) with the seat's token."""

    def get(self, path: str) -> dict[str, Any] | None: ...

    def list(self, path: str, selector: str | None = None) -> list[dict[str, Any]]: ...


def _pod_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


@dataclass
class ClusterTargets:
    """The ready pods through the API, frugally (every seat's forwarder asks every second): a Service's
    EndpointSlices are listed each time; the Service itself is read only while it has no ready pod (does it exist?)
    or when its slices carry several ports (which is ours: by the name of the Service port, kept SERVICE_TTL
    seconds); a pod
    is read every POD_EVERY seconds (its tunnel's kubectl ending is seen without the API)."""

    cluster: ClusterReader
    clock: Callable[[], float] = time.monotonic
    _port_names: dict[tuple[str, str, int], tuple[float, str | None]] = field(default_factory=dict)
    _pods: dict[tuple[str, str], tuple[float, list[Endpoint] | None]] = field(default_factory=dict)

    def ready(self, forward: Forward) -> list[Endpoint] | None:
        return self._pod(forward) if forward.kind == "pod" else self._service(forward)

    def _pod(self, forward: Forward) -> list[Endpoint] | None:
        key = (forward.namespace, forward.target)
        read_at, found = self._pods.get(key, (float("-inf"), None))
        if self.clock() - read_at < POD_EVERY:
            return found
        pod = self.cluster.get(f"/api/v1/namespaces/{forward.namespace}/pods/{forward.target}")
        found = None if pod is None else [Endpoint(forward.target, forward.port)] if _pod_ready(pod) else []
        self._pods[key] = (self.clock(), found)
        return found

    def _port_name(self, forward: Forward) -> str | None:
        """The name of the Service's port `forward.port` ("" for an unnamed one); None: no such Service or port."""
        key = (forward.namespace, forward.target, forward.port)
        read_at, name = self._port_names.get(key, (float("-inf"), None))
        if self.clock() - read_at >= SERVICE_TTL:
            service = self.cluster.get(f"/api/v1/namespaces/{forward.namespace}/services/{forward.target}")
            port = next((p for p in ((service or {}).get("spec") or {}).get("ports") or []
                         if p.get("port") == forward.port), None)
            name = None if port is None else str(port.get("name") or "")
            self._port_names[key] = (self.clock(), name)
        return name

    def _service(self, forward: Forward) -> list[Endpoint] | None:
        slices = self.cluster.list(f"/apis/discovery.k8s.io/v1/namespaces/{forward.namespace}/endpointslices",
                                   selector=f"kubernetes.io/service-name={forward.target}")
        # An EndpointSlice names each Service port, with the number it resolves to on the pods.
        names = {str(p.get("name") or "") for piece in slices for p in piece.get("ports") or []}
        if not names:  # no pod behind it yet, or no Service at all
            service = self.cluster.get(f"/api/v1/namespaces/{forward.namespace}/services/{forward.target}")
            return None if service is None else []
        wanted = next(iter(names)) if len(names) == 1 else self._port_name(forward)
        found = set()
        for piece in slices:
            number = next((p.get("port") for p in piece.get("ports") or [] if str(p.get("name") or "") == wanted),
                          None)
            for endpoint in piece.get("endpoints") or [] if number is not None else []:
                ref = endpoint.get("targetRef") or {}
                ready = (endpoint.get("conditions") or {}).get("ready")
                if ref.get("kind") == "Pod" and ready is not False:  # unset means ready (the API's rule)
                    found.add(Endpoint(str(ref["name"]), int(number)))
        return sorted(found, key=lambda e: (e.pod, e.port))


@dataclass
class KubectlProcess:
    popen: subprocess.Popen[bytes]
    errors: IO[bytes]

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def reason(self) -> str:
        self.errors.seek(0)
        lines = [line.strip() for line in self.errors.read().decode("utf-8", "replace").splitlines() if line.strip()]
        return lines[-1][:300] if lines else f"exit status {self.popen.returncode}"


@dataclass
class KubectlLauncher:
    """`kubectl port-forward` with the seat's kubeconfig, on 127.0.0.1 only (the forwarder's listeners are what
    other processes connect to)."""

    kubeconfig: Path
    kubectl: str = "kubectl"

    def start(self, forward: Forward, endpoint: Endpoint, port: int) -> Process:
        errors = tempfile.TemporaryFile()  # noqa: SIM115 -- read by reason(), gone with the process object
        argv = [self.kubectl, "--kubeconfig", str(self.kubeconfig), "--namespace", forward.namespace,
                "port-forward", "--address", "127.0.0.1", f"pod/{endpoint.pod}", f"{port}:{endpoint.port}"]
        popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
        return KubectlProcess(popen, errors)


def stamped(say: Callable[[str], None]) -> Log:
    """A log line with the time of day (the forwarder's output is read with `docker logs`)."""
    return lambda line: say(f"{time.strftime('%H:%M:%S')} {line}")
