"""The run context every verb gets: `verb(request, ctx)`.

`request` says what to do (the command's flags, one dataclass per verb, next to it in forge/verbs/); `ctx` says
where and through what: the `Target` (--context, -n), the `Backends` that reach the outside world, and the `Output`
everything is printed through. The CLI builds one per command (forge/commands/options.py: `run_context`); the unit
tests build one on in-memory fakes (tests/forge/fakes.py: `recording(backends(api, engine))`).

Backends are factories, called when a verb first needs one (so `forge render` never connects anything, and this
module imports no client: their modules are imported inside the default factories).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forge.output import Output

if TYPE_CHECKING:
    from forge.cluster import ClusterAPI
    from forge.images import ImageEngine, ImageStore
    from forge.model import Workspace
    from forge.prometheus import Query


def _connect(*, context: str | None = None, namespace: str | None = None) -> ClusterAPI:
    from forge.cluster.kube import connect

    return connect(context=context, namespace=namespace)


def _engine() -> ImageEngine:
    from forge.images.builders import connect_engine

    return connect_engine()


def _store(registry: str | None) -> ImageStore | None:
    from forge.images.registry import registry_store

    return registry_store(registry)


def _prometheus(url: str) -> Query:
    from forge.prometheus import prometheus

    return prometheus(url)


@dataclass(frozen=True)
class Backends:
    """Where forge reaches the cluster, builds images, looks into registries and asks Prometheus; each a factory
    called when needed. The unit tests pass in-memory fakes (tests/forge/fakes.py)."""

    connect: Callable[..., ClusterAPI] = _connect  # connect(context=..., namespace=...)
    engine: Callable[[], ImageEngine] = _engine  # BuildKit or the classic builder (FORGE_BUILDER)
    store: Callable[[str | None], ImageStore | None] = _store  # a forge.yaml registry -> its store (None: none)
    prometheus: Callable[[str], Query] = _prometheus  # a Prometheus base URL -> its instant-query function
    execv: Callable[[str, list[str]], Any] = os.execv  # forge port-forward becomes kubectl
    poll: float = 1.0  # seconds between rollout checks


REAL = Backends()


@dataclass(frozen=True)
class Target:
    """Which cluster and namespace: --context and -n (forge.yaml's namespace applies when -n is not given)."""

    context: str | None = None
    namespace: str | None = None


@dataclass
class Context:
    """What a verb runs with: where (`target`), through what (`backends`), how it speaks (`out`), and the environment
    that chooses profiles (CANARY, FORGE_PROFILE)."""

    out: Output = field(default_factory=Output)
    target: Target = field(default_factory=Target)
    backends: Backends = REAL
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def cluster(self, workspace: Workspace | None = None) -> ClusterAPI:
        """A connection to the target: -n, else the namespace of `workspace`'s forge.yaml (default: the workspace
        around the current directory), else the context's."""
        if workspace is None:
            from forge.config.workspace import load_workspace

            workspace = load_workspace(Path.cwd(), self.env)
        return self.backends.connect(context=self.target.context,
                                     namespace=self.target.namespace or workspace.namespace)

    def reach(self, workspace: Workspace | None = None) -> tuple[ClusterAPI, str | None]:
        """Connect, print the target, and prove the cluster answers: (cluster, its Kubernetes version)."""
        cluster = self.cluster(workspace)
        self.out.info(cluster.target())
        return cluster, cluster.server_version()

    def engine(self) -> ImageEngine:
        return self.backends.engine()

    def store(self, registry: str | None) -> ImageStore | None:
        return self.backends.store(registry)
