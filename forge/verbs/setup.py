"""`forge setup`: check Docker (and which builder forge deploy will use), the cluster and the registry (a push
through that builder), label the deploy namespace for Pod Security "restricted" (enforce by default, or warn:
forge/cluster/podsecurity.py), then write forge.yaml.

Nothing is written or labelled unless every check passed. forge.yaml gets `registry`, `namespace` and `concurrency`,
and from what the namespace says (forge/cluster/namespace.py) `node_ports: false` (it admits no NodePort Service)
and `image_pull_secrets` (its default ServiceAccount's); other keys already in it are kept. In a classroom seat the
seat's registry and namespace are written and its Pod Security labels (the class's) left alone. Credentials stay
in Docker's own store (`docker login`).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from forge.cluster import ClusterAPI, podsecurity
from forge.cluster.kube import kubeconfig_paths
from forge.cluster.namespace import NamespaceFacts, Seat, read_facts, read_seat
from forge.config.schema import check
from forge.config.workspace import CONFIG_NAME, SCHEMA, check_config, display_path, find_config, read_yaml_mapping
from forge.context import Context
from forge.errors import ForgeError, UsageError
from forge.images import ImageEngine, ImageStore
from forge.model import Container, Image, Workspace
from forge.progress import NullReporter

CHECK_IMAGE = "forge-setup-check"  # repository of the tiny image pushed to prove the registry accepts pushes
CHECK_TAG = "1"
_CHECK_DOCKERFILE = "FROM scratch\nCOPY forge-setup-check.txt /\n"
_HEADER = "# forge workspace settings (written by `forge setup`; credentials stay in Docker's store: `docker login`)\n"
Ask = Callable[[str, Any, Any], Any]  # (prompt, default, str or a range of ints) -> the answer (asked on a terminal)
CONCURRENCY = range(1, 65)


@dataclass(frozen=True)
class SetupRequest:
    directory: Path | None = None  # where forge.yaml goes (default: the workspace's forge.yaml, else here)
    registry: str | None = None
    namespace: str | None = None
    concurrency: int | None = None
    skip_cluster: bool = False
    pod_security: str = "enforce"  # enforce, warn or off
    ask: Ask | None = None  # asks for the values not given (on a terminal, without --yes); None: ask nothing


def setup(req: SetupRequest, ctx: Context) -> Path:
    """Check, label the namespace (only when the cluster was checked), then write forge.yaml; its path. Values not
    given: asked (`req.ask`), else the current forge.yaml's, the cluster's advertised registry, the defaults. The
    cluster is the target's context (--context), the namespace its own unless -n names one."""
    target = _target(req.directory)
    current = read_yaml_mapping(target) if target.is_file() else {}
    check_config(current, display_path(target))

    engine = ctx.engine()
    ctx.out.info(f"docker: engine {engine.version()} answers; builds {engine.platform()} images with "
                 f"{engine.builder()}")
    cluster, advertised = (None, None) if req.skip_cluster else _check_cluster(ctx)
    seat = _seat(cluster, req.namespace, ctx) if cluster else None

    # In a seat its registry and namespace win over forge.yaml's (left from another cluster, say): they are the
    # only ones the seat can use.
    registry = _value(req.registry, "Registry (host[:port][/path])",
                      seat.registry if seat else current.get("registry") or advertised, req.ask)
    if not registry:
        raise UsageError("no registry", hint="pass --registry HOST[:PORT][/PATH], e.g. --registry localhost:5001")
    namespace = _value(req.namespace, "Default namespace (empty: the context's)",
                       cluster.namespace if seat and cluster else current.get("namespace"), req.ask)
    concurrency = _value(req.concurrency, "Parallel builds", current.get("concurrency", Workspace.concurrency),
                         req.ask, kind=CONCURRENCY)
    _check_option("registry", registry)
    settings = {**current, "registry": registry, "concurrency": concurrency}
    if namespace:
        _check_option("namespace", namespace)
        settings["namespace"] = namespace
    if cluster:
        _fit(settings, read_facts(cluster, namespace or cluster.namespace))
    check(settings, SCHEMA, display_path(target))

    check_push(registry, engine, ctx.store(registry))
    ctx.out.info(f"registry: {registry} accepted a push of {CHECK_IMAGE}:{CHECK_TAG}")
    if seat:
        ctx.out.info(f"namespace {namespace or cluster.namespace}: enforcing Pod Security restricted (set by the "
                     "class: a seat does not change its namespace)")
    elif cluster and req.pod_security != "off":
        ctx.out.info(podsecurity.restrict(cluster, namespace or cluster.namespace, req.pod_security))
    write_atomically(target, _HEADER + yaml.safe_dump(settings, sort_keys=False))
    ctx.out.info(f"wrote {display_path(target)}: " + ", ".join(
        f"{k}: {_shown(settings[k])}" for k in ("registry", "namespace", "concurrency", "node_ports",
                                                "image_pull_secrets") if k in settings))
    return target


def _seat(cluster: ClusterAPI, namespace: str | None, ctx: Context) -> Seat | None:
    """The classroom seat of the target namespace (-n, else the context's), said when it is one."""
    found = read_seat(cluster, namespace or cluster.namespace)
    if found:
        ctx.out.info(f"seat: namespace {namespace or cluster.namespace} is seat {found.name} of class {found.klass}; "
                     f"its registry is {found.registry}")
    return found


def _fit(settings: dict[str, Any], facts: NamespaceFacts) -> None:
    """forge.yaml's node_ports and image_pull_secrets from what the namespace says (absent: the defaults)."""
    settings.pop("node_ports", None)
    settings.pop("image_pull_secrets", None)
    if not facts.node_ports:
        settings["node_ports"] = False
    if facts.pull_secrets:
        settings["image_pull_secrets"] = list(facts.pull_secrets)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return ", ".join(value) if isinstance(value, list) else str(value)


def _target(directory: Path | None) -> Path:
    if directory is not None:
        return directory / CONFIG_NAME
    return find_config(Path.cwd()) or Path.cwd() / CONFIG_NAME


def _check_option(name: str, value: str) -> None:
    spec = SCHEMA["properties"][name]
    if not re.match(spec["pattern"], value):
        raise UsageError(f"--{name}: {value!r} is not {spec['description']}")


def _value(given: Any, prompt: str, default: Any, ask: Ask | None, kind: Any = str) -> Any:
    if given is not None or ask is None:
        return given if given is not None else default
    return ask(prompt, default, kind) or None


def _check_cluster(ctx: Context) -> tuple[ClusterAPI | None, str | None]:
    """Prove the cluster answers (when a kubeconfig exists); returns it and the local registry it advertises."""
    paths = kubeconfig_paths()
    if not any(Path(os.path.expanduser(p)).is_file() for p in paths.split(os.pathsep) if p):
        ctx.out.info(f"cluster: no kubeconfig at {paths} (not checked; forge deploy will need one)")
        return None, None
    cluster = ctx.backends.connect(context=ctx.target.context)
    version = cluster.server_version()
    advertised = cluster.local_registry()
    note = f"; it advertises the local registry {advertised}" if advertised else ""
    ctx.out.info(f"cluster: context {cluster.context} at {cluster.server} answers (Kubernetes {version}){note}")
    return cluster, advertised


def check_push(registry: str, engine: ImageEngine, store: ImageStore | None) -> None:
    """Build the tiny check image locally, push it, read it back through the registry API, drop the local tag."""
    assert store is not None  # a registry is given
    store.ping()
    image_ref = f"{registry}/{CHECK_IMAGE}:{CHECK_TAG}"
    quiet = NullReporter()  # the build error, if any, carries the output
    with tempfile.TemporaryDirectory(prefix="forge-setup-") as tmp:
        context = Path(tmp)
        (context / "Dockerfile").write_text(_CHECK_DOCKERFILE)
        (context / "forge-setup-check.txt").write_text("pushed by `forge setup` to check the registry\n")
        container = Container(key="Dockerfile", name=CHECK_IMAGE, dockerfile=context / "Dockerfile", context=context)
        image = Image(container=container, version=CHECK_TAG, ref=image_ref)
        engine.build(image, quiet)
        try:
            engine.push(image, quiet)
        finally:
            engine.untag(image_ref)  # only our own tag; a leftover is harmless
    if not store.has_image(image_ref):
        raise ForgeError(f"registry {registry}: pushed {image_ref} but the registry does not list it")


def write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file in the same directory and rename it over `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
