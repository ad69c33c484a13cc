"""`up` and `down`: kind's local-registry recipe (registry container, kind cluster, each node's hosts.toml, the
registry on the kind network, the KEP-1755 ConfigMap, the internal kubeconfig) and its removal. Whatever exists
is reused: a stopped registry or node is started, the rest is (re)applied idempotently. `local`: what pages 1-2
need when the cluster is a classroom seat (`./shopbox.sh join`): the registry on the kind network, no cluster."""

from __future__ import annotations

from shopbox_setup import engine
from shopbox_setup.generated import hosts_toml, hosts_toml_dir, kind_config, registry_configmap
from shopbox_setup.runner import Runner, SetupError, log
from shopbox_setup.settings import SEAT_LABEL, Settings


def kind(settings: Settings, *args: str) -> list[str]:
    """A kind command; on another network than `kind` through KIND_EXPERIMENTAL_DOCKER_NETWORK."""
    prefix = [] if settings.network == "kind" else ["env", f"KIND_EXPERIMENTAL_DOCKER_NETWORK={settings.network}"]
    return [*prefix, "kind", *args]


def node_image(runner: Runner, settings: Settings) -> str:
    """The pinned node image; after `load` of a bundle (docker save drops digests) its tag."""
    pinned = settings.pin("KIND_NODE_IMAGE")
    if not engine.image_exists(runner, pinned) and engine.image_exists(runner, engine.tag_of(pinned)):
        return engine.tag_of(pinned)
    return pinned


def ensure_registry(runner: Runner, settings: Settings) -> None:
    s = settings
    state = engine.container_state(runner, s.registry)
    if state == "running":
        log(f"registry {s.registry} is running on localhost:{s.registry_port}")
    elif not state:
        runner.run(["docker", "run", "-d", "--restart=always", "--name", s.registry,
                    "-p", f"127.0.0.1:{s.registry_port}:5000", "--network", "bridge", s.pin("REGISTRY_IMAGE")])
    else:
        runner.run(["docker", "start", s.registry])


def ensure_network(runner: Runner, settings: Settings) -> None:
    """The kind network without a cluster, made as kind makes it (a bridge that masquerades), so that a later
    `kind create cluster` takes it as it is."""
    if engine.network_members(runner, settings.network) is None:
        runner.run(["docker", "network", "create", "--driver", "bridge", "--opt",
                    "com.docker.network.bridge.enable_ip_masquerade=true", settings.network])


def connect_registry(runner: Runner, settings: Settings) -> None:
    if settings.registry not in (engine.network_members(runner, settings.network) or []):
        runner.run(["docker", "network", "connect", settings.network, settings.registry])


def ensure_cluster(runner: Runner, settings: Settings) -> None:
    s = settings
    control_plane = f"{s.cluster}-control-plane"
    nodes = engine.nodes(runner, s)
    if not nodes:
        config = kind_config(s, node_image(runner, s), cgroup_v1=engine.cgroup_version(runner) == "1")
        runner.run(kind(s, "create", "cluster", "--name", s.cluster, "--config=-", "--wait", "2m"), stdin=config)
        nodes = engine.nodes(runner, s) or ({control_plane: "running"} if runner.dry_run else {})
        if control_plane not in nodes:
            raise SetupError(f"kind created cluster {s.cluster} but there is no container {control_plane}")
    else:
        stopped = [name for name, state in nodes.items() if state != "running"]
        if stopped:
            runner.run(["docker", "start", *stopped])
        log(f"cluster {s.cluster} exists")
    for node in nodes:
        runner.run(["docker", "exec", node, "mkdir", "-p", hosts_toml_dir(s)])
        runner.run(["docker", "exec", "-i", node, "cp", "/dev/stdin", f"{hosts_toml_dir(s)}/hosts.toml"],
                   stdin=hosts_toml(s))
    connect_registry(runner, s)
    # kubectl of the node with its admin kubeconfig, as kind applies its own manifests: no network to join.
    runner.run(["docker", "exec", "-i", control_plane, "kubectl", "--kubeconfig=/etc/kubernetes/admin.conf",
                "apply", "-f", "-"], stdin=registry_configmap(s))


def up(runner: Runner, settings: Settings) -> None:
    """Registry and cluster created or reused; the internal kubeconfig (server https://<node>:6443, the name the
    certificate is valid for, reachable on the kind network) on stdout."""
    ensure_registry(runner, settings)
    ensure_cluster(runner, settings)
    runner.emit(kind(settings, "get", "kubeconfig", "--internal", "--name", settings.cluster))


def local(runner: Runner, settings: Settings) -> None:
    """Pages 1-2 on this machine while the cluster is a classroom seat: the registry (localhost:5001) and the kind
    network it is on, where the shell and the containers of pages 1-2 meet. No cluster."""
    ensure_registry(runner, settings)
    ensure_network(runner, settings)
    connect_registry(runner, settings)


def down(runner: Runner, settings: Settings) -> None:
    """Remove the cluster's nodes, the joined seats' forwarders and the registry, and the network when nothing else
    is on it (kind, or `local`, created it)."""
    s = settings
    forwarders = list(engine.labelled(runner, SEAT_LABEL))
    if forwarders:
        runner.run(["docker", "rm", "-f", *forwarders])
    nodes = list(engine.nodes(runner, s))
    if nodes:
        runner.run(["docker", "rm", "-f", "-v", *nodes])
    else:
        log(f"no cluster {s.cluster}")
    if engine.container_state(runner, s.registry):
        runner.run(["docker", "rm", "-f", "-v", s.registry])
    else:
        log(f"no registry {s.registry}")
    members = engine.network_members(runner, s.network)
    if members is None:
        return
    # A dry run read the members before the rm.
    others = [name for name in members if name not in (*nodes, *forwarders, s.registry)]
    if others:
        log(f"network {s.network} is still used by other containers: kept")
    else:
        runner.run(["docker", "network", "rm", s.network])
