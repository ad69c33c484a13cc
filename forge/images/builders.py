"""Which builder forge uses: BuildKit (`docker buildx build`) where it works, else the engine's classic builder.

`FORGE_BUILDER` decides: `auto` (the default) takes BuildKit when `docker buildx version` answers and the engine
runs BuildKit (Linux engine, API 1.40 / Docker 19.03 or newer), and the classic builder otherwise (or when
`DOCKER_BUILDKIT=0`, Docker's own switch back to the classic builder); `buildkit` insists on BuildKit (an error
when it is not there); `classic` always takes the classic builder.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

from forge.errors import ForgeError, UsageError
from forge.images.buildkit import BuildxEngine
from forge.images.engine import DockerEngine, docker_api

CHOICES = ("auto", "buildkit", "classic")
MIN_API = (1, 40)
INSTALL_BUILDX = ("install the Docker buildx CLI plugin, so that `docker buildx version` works; the shopbox shell "
                  "has it")


def buildx_version(docker_cli: str, env: Mapping[str, str] | None = None) -> str | None:
    """`docker buildx version`'s answer, None when the plugin is missing or fails. Asked once per process for each
    CLI and plugin location (`forge dev` deploys many times; the answer takes a few tenths of a second)."""
    env = os.environ if env is None else env
    return _buildx_version(docker_cli, tuple(sorted((k, v) for k, v in env.items() if k in _PLUGIN_LOOKUP)))


_PLUGIN_LOOKUP = ("DOCKER_CONFIG", "HOME", "DOCKER_HOST", "DOCKER_CONTEXT")  # where the CLI finds plugins and engine


@functools.cache
def _buildx_version(docker_cli: str, lookup: tuple[tuple[str, str], ...]) -> str | None:
    try:
        result = subprocess.run([docker_cli, "buildx", "version"], capture_output=True, text=True, timeout=30,
                                stdin=subprocess.DEVNULL, env={**os.environ, **dict(lookup)})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None


def connect_engine(env: Mapping[str, str] | None = None, client: Any = None,
                   probe: Callable[[str, Mapping[str, str]], str | None] = buildx_version) -> DockerEngine:
    """The engine of `client` (else of the environment) with the builder FORGE_BUILDER asks for.

    A bad FORGE_BUILDER is a UsageError before the engine is contacted; FORGE_BUILDER=buildkit without BuildKit
    a ForgeError saying what is missing.
    """
    env = os.environ if env is None else env
    choice = env.get("FORGE_BUILDER") or "auto"
    if choice not in CHOICES:
        raise UsageError(f"FORGE_BUILDER={choice}: expected auto, buildkit or classic")
    api = docker_api(client)
    if choice == "classic":
        return DockerEngine(api, classic=("FORGE_BUILDER=classic", "unset FORGE_BUILDER to use BuildKit"))
    if choice == "auto" and env.get("DOCKER_BUILDKIT") == "0":
        return DockerEngine(api, classic=("DOCKER_BUILDKIT=0", "unset DOCKER_BUILDKIT to use BuildKit"))
    docker_cli = shutil.which("docker", path=env.get("PATH"))
    problem = _buildkit_problem(api, docker_cli, lambda cli: probe(cli, env))
    if problem is None:
        return BuildxEngine(api, docker_cli=str(docker_cli), env=env)
    if choice == "buildkit":
        raise ForgeError(f"FORGE_BUILDER=buildkit: {problem[0]}", hint=problem[1])
    return DockerEngine(api, classic=problem)


def _buildkit_problem(api: Any, docker_cli: str | None, probe: Callable[[str], str | None]) -> tuple[str, str] | None:
    """Why BuildKit cannot be used here (the reason, how to fix it), None when it can."""
    if not docker_cli:
        return "the docker CLI is not on PATH", INSTALL_BUILDX
    version = api.version()
    api_version = tuple(int(p) for p in str(version.get("ApiVersion", "0.0")).split(".")[:2] if p.isdigit())
    if str(version.get("Os", "linux")) != "linux" or api_version < MIN_API:
        engine = f"{version.get('Os', '?')} engine {version.get('Version', '?')} (API {version.get('ApiVersion')})"
        return f"the Docker {engine} has no BuildKit", "use a Linux Docker engine 19.03 or newer"
    if probe(docker_cli) is None:
        return "docker buildx is not available", INSTALL_BUILDX
    return None
