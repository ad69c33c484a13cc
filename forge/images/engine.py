"""The Docker engine behind forge.images.ImageEngine: `DockerEngine` builds with the engine's classic builder,
pushes, looks up and untags local images (forge.images.buildkit.BuildxEngine builds with BuildKit instead)."""

from __future__ import annotations

import contextlib
import os
import re
import time
from typing import Any

import docker
import docker.errors
import requests

from forge.config.workspace import display_path
from forge.errors import ForgeError
from forge.images.registry import parse_reference
from forge.model import Container, Image
from forge.network import describe_error
from forge.progress import Reporter

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


def docker_api(client: Any = None) -> docker.APIClient:
    """The low-level API of `client` (a DockerClient or APIClient), or of a client from the environment.

    Raises ForgeError when the engine does not answer.
    """
    try:
        if client is None:
            client = docker.from_env()
        api = getattr(client, "api", client)
        api.ping()
    except (docker.errors.DockerException, requests.RequestException) as exc:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        raise ForgeError(f"Docker engine at {where} does not answer: {describe_error(exc)}", detail=str(exc)) from exc
    return api


class DockerEngine:
    """The Docker engine behind the ImageEngine interface (through its low-level API client), building with the
    engine's classic builder. `classic`: why BuildKit is not used and how to get it, for the one-line error when a
    Dockerfile needs it (forge.images.buildkit.BuildxEngine is the BuildKit builder)."""

    def __init__(self, api: docker.APIClient, classic: tuple[str, str] = ("the classic builder was chosen", "")):
        self.api = api
        self.classic = classic
        self._platform: str | None = None

    def platform(self) -> str:
        """The platform images are built for: the engine's own (`linux/arm64` on an Apple Silicon Mac), which is the
        kind node's. Explicit, so that DOCKER_DEFAULT_PLATFORM (which only the docker CLI reads) cannot make the two
        builders differ, nor give the node an image of another architecture."""
        if self._platform is None:
            version = self.api.version()
            self._platform = f"{version.get('Os') or 'linux'}/{version.get('Arch') or 'amd64'}"
        return self._platform

    @classmethod
    def connect(cls, client: Any = None) -> DockerEngine:
        """The engine of `client`, else of the environment (DOCKER_HOST); ForgeError when it does not answer."""
        return cls(docker_api(client))

    def has(self, ref: str) -> bool:
        try:
            self.api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            return False
        return True

    def build(self, image: Image, progress: Reporter) -> float:
        where = check_inputs(image)
        need = needs_buildkit(image.container)
        if need:
            reason, fix = self.classic
            raise ForgeError(f"build of {image.ref} ({where}) needs BuildKit ({need}) but forge builds with the "
                             f"classic builder: {reason}", hint=fix or None)
        return build_image(self.api, image, progress, self.platform())

    def push(self, image: Image, progress: Reporter) -> None:
        push_image(self.api, image, progress)

    def version(self) -> str:
        return str(self.api.version().get("Version", "?"))

    def builder(self) -> str:
        """Which builder builds, and why (what `forge setup` says)."""
        return f"the classic builder ({self.classic[0]})"

    def untag(self, ref: str) -> None:
        """Remove the local tag `ref` (nothing when it is already gone)."""
        with contextlib.suppress(docker.errors.APIError):
            self.api.remove_image(ref)


def check_inputs(image: Image) -> str:
    """ForgeError when the image's Dockerfile or build context is missing; the Dockerfile as shown to users."""
    container = image.container
    where = display_path(container.dockerfile)
    if not container.dockerfile.is_file():
        raise ForgeError(f"build of {image.ref} failed: Dockerfile {where} not found")
    if not container.context.is_dir():
        context = display_path(container.context)
        raise ForgeError(f"build of {image.ref} failed: build context {context} is not a directory")
    return where


# A RUN instruction with a flag only BuildKit knows (`RUN --mount=type=cache,...`), flags may follow each other.
_BUILDKIT_RUN = re.compile(r"^[ \t]*RUN(?:[ \t]|\\\n)+(?:--\S+(?:[ \t]|\\\n)+)*--(mount|network|security)\b",
                           re.IGNORECASE | re.MULTILINE)


def needs_buildkit(container: Container) -> str | None:
    """What in the container's build only BuildKit can do (`RUN --mount, line 4`, `build secrets`), else None."""
    if container.secrets:
        return "build secrets: " + ", ".join(s.id for s in container.secrets)
    text = container.dockerfile.read_text(errors="replace")
    match = _BUILDKIT_RUN.search(text)
    if match:
        return f"RUN --{match[1].lower()}, line {text.count(chr(10), 0, match.start()) + 1}"
    return None


def build_image(api: docker.APIClient, image: Image, progress: Reporter, platform: str) -> float:
    """Build and tag the image for `platform` with the classic builder, streaming its steps to `progress`; returns
    the seconds it took."""
    container = image.container
    where = check_inputs(image)
    started = time.monotonic()
    progress.update(image.ref, "building")
    output: list[str] = []
    step: tuple[int, int, str] | None = None
    step_start = 0  # index in `output` where the current step's output begins
    error: str | None = None
    try:
        pending = ""
        stream = api.build(path=str(container.context), dockerfile=str(container.dockerfile), tag=image.ref,
                           buildargs=dict(container.args), platform=platform, decode=True, rm=True, forcerm=True,
                           timeout=None)
        for event in stream:
            if "error" in event:
                error = (event.get("errorDetail") or {}).get("message") or event["error"]
                break
            pending += event.get("stream", "")
            *lines, pending = pending.split("\n")
            for line in lines:
                output.append(line)
                match = _STEP.match(line)
                if match:
                    step, step_start = (int(match[1]), int(match[2]), match[3]), len(output)
                    progress.update(image.ref, match[3], step=step[0], total=step[1])
        if pending:
            output.append(pending)
    except docker.errors.APIError as exc:
        error = str(exc.explanation or exc)
    except (docker.errors.DockerException, requests.RequestException) as exc:
        error = f"Docker engine error: {describe_error(exc)}"
    if error is None:
        return time.monotonic() - started
    progress.finish(image.ref, error, ok=False)
    raise ForgeError(failure(image.ref, where, step, error.strip(), output[step_start:]),
                     detail="\n".join([*output, error]))


def failure(ref: str, where: str, step: tuple[int, int, str] | None, error: str, step_output: list[str]) -> str:
    """`build of REF (FILE) failed at step N/M: INSTRUCTION: ERROR (last output: LINE)` on one line."""
    at = f" at step {step[0]}/{step[1]}: {step[2]}" if step else ""
    last = next((line.strip() for line in reversed(step_output)
                 if line.strip() and not line.startswith((" ---> ", "Removing intermediate"))), "")
    tail = f" (last output: {last})" if last else ""
    return f"build of {ref} ({where}) failed{at}: {error.splitlines()[-1]}{tail}"


def push_image(api: docker.APIClient, image: Image, progress: Reporter) -> None:
    """Push the image's tag through the engine (which uses Docker's stored credentials)."""
    started = time.monotonic()
    progress.update(image.ref, "pushing")
    repository, tag = image.ref.rsplit(":", 1)
    host = parse_reference(image.ref).host
    try:
        for event in api.push(repository, tag=tag, stream=True, decode=True):
            if "error" in event:
                message = (event.get("errorDetail") or {}).get("message") or event["error"]
                progress.finish(image.ref, message, ok=False)
                raise ForgeError(f"push of {image.ref} to {host} failed: {message}")
    except (docker.errors.DockerException, requests.RequestException) as exc:
        progress.finish(image.ref, describe_error(exc), ok=False)
        raise ForgeError(f"push of {image.ref} to {host} failed: {describe_error(exc)}", detail=str(exc)) from exc
    progress.finish(image.ref, f"pushed in {time.monotonic() - started:.1f}s")

