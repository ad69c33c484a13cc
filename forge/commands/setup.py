"""`forge setup`: check Docker, the cluster and the registry, then write forge.yaml.

Nothing is written unless every check passed. forge.yaml gets only `registry`, `namespace` and `concurrency`
(other keys already in it are kept); credentials stay in Docker's own store (`docker login`).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
import docker
import docker.errors
import yaml

from forge.cluster import kube
from forge.config.schema import check
from forge.config.workspace import CONFIG_NAME, SCHEMA, display_path, find_config, read_yaml_mapping
from forge.errors import ForgeError, UsageError
from forge.images.build import build_image, docker_api, push_image
from forge.images.progress import PlainReporter
from forge.images.registry import Registry, registry_host
from forge.model import Container, Image, Workspace

CHECK_IMAGE = "forge-setup-check"  # repository of the tiny image pushed to prove the registry accepts pushes
CHECK_TAG = "1"
_CHECK_DOCKERFILE = "FROM scratch\nCOPY forge-setup-check.txt /\n"
_HEADER = "# forge workspace settings (written by `forge setup`; credentials stay in Docker's store: `docker login`)\n"


def can_prompt() -> bool:
    return sys.stdin.isatty()


@click.command("setup")
@click.argument("directory", required=False, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--registry", metavar="HOST[:PORT][/PATH]",
              help="Where images go, e.g. localhost:5001 or docker.io/alice.")
@click.option("-n", "--namespace", metavar="NAMESPACE", help="Default Kubernetes namespace for deploys.")
@click.option("--concurrency", type=click.IntRange(1, 64), help="How many images to build at once.  [default: 4]")
@click.option("--context", metavar="CONTEXT", help="kubeconfig context to check (default: the current one).")
@click.option("--skip-cluster", is_flag=True, help="Do not check the cluster (e.g. it is not created yet).")
@click.option("-y", "--yes", is_flag=True, help="Ask nothing: take flags, else current settings, else defaults.")
def setup_command(directory: Path | None, registry: str | None, namespace: str | None, concurrency: int | None,
                  context: str | None, skip_cluster: bool, yes: bool) -> None:
    """Check that Docker, the cluster and the registry work, then write forge.yaml.

    The registry check builds a tiny image locally (FROM scratch, one small file; nothing is pulled), pushes it
    as forge-setup-check:1 and reads it back. forge.yaml goes to DIRECTORY, or else to the forge.yaml of the
    workspace around the current directory, or else to the current directory. Missing values are asked for
    on a terminal; with --yes (or without a terminal) the current forge.yaml, the cluster's advertised local
    registry and the defaults are used.

    \b
    Examples:
      forge setup                                   # asks, checks, writes ./forge.yaml
      forge setup --registry localhost:5001 -n workshop --yes
      forge setup --registry docker.io/alice --skip-cluster --yes   # after `docker login`
    """
    target = _target(directory)
    current = read_yaml_mapping(target) if target.is_file() else {}
    check(current, SCHEMA, display_path(target))
    ask = can_prompt() and not yes

    api = docker_api()
    click.echo(f"docker: engine {api.version().get('Version', '?')} answers")
    advertised = None if skip_cluster else _check_cluster(context)

    registry = _value(registry, "Registry (host[:port][/path])", current.get("registry") or advertised, ask)
    if not registry:
        raise UsageError("no registry: pass --registry HOST[:PORT][/PATH], e.g. --registry localhost:5001")
    namespace = _value(namespace, "Default namespace (empty: the context's)", current.get("namespace"), ask)
    concurrency = _value(concurrency, "Parallel builds", current.get("concurrency", Workspace.concurrency), ask,
                         kind=click.IntRange(1, 64))
    _check_option("registry", registry)
    settings = {**current, "registry": registry, "concurrency": concurrency}
    if namespace:
        _check_option("namespace", namespace)
        settings["namespace"] = namespace
    check(settings, SCHEMA, display_path(target))

    check_push(registry, api)
    click.echo(f"registry: {registry} accepted a push of {CHECK_IMAGE}:{CHECK_TAG}")
    write_atomically(target, _HEADER + yaml.safe_dump(settings, sort_keys=False))
    click.echo(f"wrote {display_path(target)}: " + ", ".join(f"{k}: {settings[k]}" for k in
                                                            ("registry", "namespace", "concurrency") if k in settings))


def _target(directory: Path | None) -> Path:
    if directory is not None:
        return directory / CONFIG_NAME
    return find_config(Path.cwd()) or Path.cwd() / CONFIG_NAME


def _check_option(name: str, value: str) -> None:
    spec = SCHEMA["properties"][name]
    if not re.match(spec["pattern"], value):
        raise UsageError(f"--{name}: {value!r} is not {spec['description']}")


def _value(given: Any, prompt: str, default: Any, ask: bool, kind: Any = str) -> Any:
    if given is not None or not ask:
        return given if given is not None else default
    return click.prompt(prompt, default=default if default is not None else "", type=kind,
                        show_default=default is not None) or None


def _check_cluster(context: str | None) -> str | None:
    """Prove the cluster answers (when a kubeconfig exists); returns the local registry it advertises, if any."""
    paths = kube.kubeconfig_paths()
    if not any(Path(os.path.expanduser(p)).is_file() for p in paths.split(os.pathsep) if p):
        click.echo(f"cluster: no kubeconfig at {paths} (not checked; forge deploy will need one)")
        return None
    cluster = kube.connect(context=context)
    version = cluster.server_version()
    advertised = cluster.local_registry()
    note = f"; it advertises the local registry {advertised}" if advertised else ""
    click.echo(f"cluster: context {cluster.context} at {cluster.server} answers (Kubernetes {version}){note}")
    return advertised


def check_push(registry: str, api: docker.APIClient) -> None:
    """Build the tiny check image locally, push it, read it back through the registry API, drop the local tag."""
    reg = Registry(registry_host(registry))
    reg.ping()
    image_ref = f"{registry}/{CHECK_IMAGE}:{CHECK_TAG}"
    quiet = PlainReporter(io.StringIO())  # the build error, if any, carries the output
    with tempfile.TemporaryDirectory(prefix="forge-setup-") as tmp:
        context = Path(tmp)
        (context / "Dockerfile").write_text(_CHECK_DOCKERFILE)
        (context / "forge-setup-check.txt").write_text("pushed by `forge setup` to check the registry\n")
        container = Container(key="Dockerfile", name=CHECK_IMAGE, dockerfile=context / "Dockerfile", context=context)
        image = Image(container=container, version=CHECK_TAG, ref=image_ref)
        build_image(api, image, quiet)
        try:
            push_image(api, image, quiet)
        finally:
            with contextlib.suppress(docker.errors.APIError):  # only our own tag; a leftover is harmless
                api.remove_image(image_ref)
    if not reg.has_image(image_ref):
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
