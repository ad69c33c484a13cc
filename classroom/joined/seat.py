"""What a joined shell is made of, read from a join file: the settings `./shopbox.sh join` starts the containers
with, the kubeconfig, the registry credentials for Docker, and the port-forwards.

In the joined shell's network namespace (the forwarder container's, which every shell of the seat shares) the
edge listens on localhost:30080 and Prometheus on localhost:30090 (`forge url` answers these: FORGE_SERVICE_URLS),
published by Docker on the host's 127.0.0.1 at SHOPBOX_EDGE_PORT / SHOPBOX_PROMETHEUS_PORT (8080, 9090: the
addresses a browser opens in both modes, CONVENTIONS.md 3). Pages' own port-forwards (8080, 8081, 9901, ...) stay
free. The per-seat registry listens at its NodePort, `localhost:NODEPORT`, published on the host at the same port:
the Docker engine pushes from the host to the name the nodes pull.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from classroom.errors import ClassError
from classroom.joined.forward import Forward
from classroom.joinfile import Join

if TYPE_CHECKING:
    from forge.cluster.kube import Cluster

LISTEN = {"edge": 30080, "prometheus": 30090}  # the forwards' ports inside the joined shell
SERVICE_URLS = "FORGE_SERVICE_URLS"  # forge url's table of Services the shell reaches through a kept forward


def registry_port(join: Join) -> int | None:
    """The per-seat registry's port (its name is localhost:PORT), None for an external registry."""
    registry = join.data["registry"]
    if not registry.get("forward"):
        return None
    host = str(registry["name"]).split("/", 1)[0]
    _, _, port = host.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ClassError(f"{join.path}: registry.name: {registry['name']!r} has no port (a per-seat registry is "
                         "localhost:PORT)")
    return int(port)


def forwards(join: Join) -> list[Forward]:
    """Every port-forward of the seat: the Services of `forwards` in the seat namespace, and the registry pod."""
    found = []
    for name, entry in sorted((join.data.get("forwards") or {}).items()):
        if name not in LISTEN:
            raise ClassError(f"{join.path}: forwards.{name}: unknown (expected {', '.join(sorted(LISTEN))})")
        try:
            found.append(Forward(name, join.namespace, "service", str(entry["service"]), int(entry["port"]),
                                 LISTEN[name]))
        except (KeyError, TypeError, ValueError):
            raise ClassError(f"{join.path}: forwards.{name}: expected service and port") from None
    port = registry_port(join)
    if port is not None:
        target = join.data["registry"]["forward"]
        try:
            found.append(Forward("registry", str(target["namespace"]), "pod", str(target["pod"]),
                                 int(target["port"]), port))
        except (KeyError, TypeError, ValueError):
            raise ClassError(f"{join.path}: registry.forward: expected namespace, pod and port") from None
    return found


def service_urls(join: Join) -> str:
    """FORGE_SERVICE_URLS: NAMESPACE/SERVICE=URL for each Service forward, comma-separated."""
    return ",".join(f"{f.namespace}/{f.target}=http://localhost:{f.listen}" for f in forwards(join)
                    if f.kind == "service")


def settings(join: Join) -> dict[str, str]:
    """What `./shopbox.sh join` needs, as KEY=VALUE lines it reads (values are DNS labels, registry names, URLs
    and numbers: nothing a shell would expand)."""
    edge, prometheus = (next((f for f in forwards(join) if f.name == name), None) for name in ("edge", "prometheus"))
    return {
        "SEAT_CLASS": join.klass,
        "SEAT_NAME": join.seat,
        "SEAT_NAMESPACE": join.namespace,
        "SEAT_SERVER": join.server,
        "SEAT_EXPIRES": str(join.data["expires"]),
        "SEAT_REGISTRY": str(join.data["registry"]["name"]),
        "SEAT_REGISTRY_PORT": str(registry_port(join) or ""),
        "SEAT_EDGE_LISTEN": str(edge.listen if edge else ""),
        "SEAT_PROMETHEUS_LISTEN": str(prometheus.listen if prometheus else ""),
        "SEAT_SERVICE_URLS": service_urls(join),
    }


def kubeconfig_text(join: Join) -> str:
    return yaml.safe_dump(join.data["kubeconfig"], sort_keys=False)


def connect(join: Join) -> Cluster:
    """forge's Cluster with the join file's own kubeconfig (the seat's token): its namespace is the seat's. (The
    client is imported here: the shell's entrypoint runs the other verbs, which need none, at every start.)"""
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException

    from forge.cluster.kube import Cluster

    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_kube_config_from_dict(join.data["kubeconfig"], client_configuration=configuration,
                                              persist_config=False)
    except (ConfigException, ValueError, KeyError, TypeError) as err:
        raise ClassError(f"{join.path}: kubeconfig: {str(err).splitlines()[0]}") from None
    configuration.retries = 1
    context = str(join.data["kubeconfig"].get("current-context") or join.klass)
    return Cluster(context=context, namespace=join.namespace, api=k8s_client.ApiClient(configuration))


def docker_login(join: Join, config: Path) -> str:
    """Put the seat registry's credentials into Docker's config file (`docker login` without the network: the
    registry's forward may not be up yet); other entries stay. Returns the registry host."""
    registry = join.data["registry"]
    host = str(registry["name"]).split("/", 1)[0]
    try:
        data: dict[str, Any] = json.loads(config.read_text(encoding="utf-8")) if config.is_file() else {}
    except (OSError, ValueError) as err:
        raise ClassError(f"{config}: cannot read Docker's config: {err}") from None
    auth = base64.b64encode(f"{registry['username']}:{registry['password']}".encode()).decode()
    data.setdefault("auths", {})[host] = {"auth": auth}
    config.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = config.with_name(f".{config.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2)
    tmp.replace(config)
    return host
