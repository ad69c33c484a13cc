"""The BuildKit builder: `docker buildx build --load`, then the same engine for has/push as the classic builder.

With buildx's `docker` driver (the default builder of a plain engine) BuildKit runs inside the Docker engine, so
`--load` leaves the image where the classic builder would: the skip-if-present checks and the push through the
engine stay exactly as they are (forge.images.engine.ensure_images). What BuildKit adds: `RUN --mount=type=cache`
and build secrets (service.yaml `secrets`), passed as `--secret id=ID,env=VAR` or `id=ID,src=FILE`, so the values
reach neither the command line, the image nor forge's output. Progress comes from `--progress=plain`.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

import docker

from forge.config.workspace import display_path
from forge.errors import ForgeError
from forge.images.engine import DockerEngine, check_inputs, failure
from forge.model import Image
from forge.progress import Reporter

# `#5 [2/3] RUN ...`, `#7 [builder 1/4] FROM ...`: a Dockerfile step (vertex 5) starts.
_STEP = re.compile(r"^#(\d+) \[(?:[^\]]* )?(\d+)/(\d+)\] (.*)$")
_LOG = re.compile(r"^#(\d+) \d+\.\d+ (.*)$")  # `#5 0.312 some output` of vertex 5
_VERTEX_ERROR = re.compile(r"^#(\d+) ERROR: (.*)$")
_ERROR = re.compile(r"^ERROR: (?:failed to build: )?(?:failed to solve: )?(.*)$")  # buildx's final error line


class Process(Protocol):
    """What BuildxEngine needs of a started `docker buildx build` (a subprocess.Popen in real life)."""

    stdout: Iterable[str] | None

    def wait(self) -> int: ...

    def kill(self) -> None: ...


Spawn = Callable[[list[str], Mapping[str, str]], Process]


def spawn(argv: list[str], env: Mapping[str, str]) -> Process:
    """Start `argv` with its stdout and stderr merged into one text stream."""
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True, errors="replace", env=dict(env))


class BuildxEngine(DockerEngine):
    """The Docker engine, building through `docker buildx build` (BuildKit)."""

    def __init__(self, api: docker.APIClient, *, docker_cli: str = "docker", run: Spawn = spawn,
                 env: Mapping[str, str] | None = None):
        super().__init__(api)
        self.docker_cli = docker_cli
        self.run = run
        self.env = os.environ if env is None else env

    def builder(self) -> str:
        return "BuildKit (docker buildx build)"

    def build(self, image: Image, progress: Reporter) -> float:
        where = check_inputs(image)
        check_secrets(image, where, self.env)
        started = time.monotonic()
        progress.update(image.ref, "building (BuildKit)")
        output: list[str] = []
        steps: dict[str, tuple[int, int, str]] = {}  # vertex -> its Dockerfile step
        logs: dict[str, list[str]] = {}  # vertex -> its output lines
        failed: tuple[str, str] | None = None  # vertex, its error
        error: str | None = None
        # No provenance attestation (buildx adds one by default where the builder can store it, e.g. a
        # docker-container builder): forge's images stay plain images, as the classic builder makes them.
        process = self.run(buildx_command(image, self.docker_cli, self.platform()),
                           {**self.env, "BUILDX_NO_DEFAULT_ATTESTATIONS": "1"})
        try:
            for raw in process.stdout or ():
                line = raw.rstrip("\n")
                output.append(line)
                if match := _STEP.match(line):
                    if match[1] not in steps:
                        steps[match[1]] = (int(match[2]), int(match[3]), match[4])
                        progress.update(image.ref, match[4], step=int(match[2]), total=int(match[3]))
                elif match := _LOG.match(line):
                    logs.setdefault(match[1], []).append(match[2])
                elif match := _VERTEX_ERROR.match(line):
                    failed = failed or (match[1], match[2])
                elif match := _ERROR.match(line):
                    error = match[1]
            code = process.wait()
        except BaseException:
            process.kill()
            raise
        if code == 0:
            return time.monotonic() - started
        if failed and failed[0] in steps:
            step, reason = steps[failed[0]], failed[1]
        else:
            step, reason = None, error or (failed[1] if failed else f"docker buildx exited with {code}")
        progress.finish(image.ref, reason, ok=False)
        raise ForgeError(failure(image.ref, where, step, reason, logs.get(failed[0], []) if failed else []),
                         detail="\n".join(output))


def buildx_command(image: Image, docker_cli: str, platform: str) -> list[str]:
    """`docker buildx build` for the image: for `platform`, tagged, loaded into the engine, plain progress. Secrets
    are named by their source (a variable, a file), never by value."""
    container = image.container
    argv = [docker_cli, "buildx", "build", "--progress=plain", "--platform", platform, "--load", "--tag", image.ref,
            "--file", str(container.dockerfile)]
    for key, value in container.args.items():
        argv += ["--build-arg", f"{key}={value}"]
    for secret in container.secrets:
        source = f"env={secret.env}" if secret.env else f"src={secret.file}"
        argv += ["--secret", f"id={secret.id},{source}"]
    return [*argv, str(container.context)]


def check_secrets(image: Image, where: str, env: Mapping[str, str]) -> None:
    """ForgeError, before anything is built, when a declared secret's variable is unset or its file missing."""
    for secret in image.container.secrets:
        if secret.env and secret.env not in env:
            raise ForgeError(f"build of {image.ref} ({where}): secret {secret.id}: environment variable "
                             f"{secret.env} is not set")
        if secret.file and not secret.file.is_file():
            raise ForgeError(f"build of {image.ref} ({where}): secret {secret.id}: file "
                             f"{display_path(secret.file)} not found")
