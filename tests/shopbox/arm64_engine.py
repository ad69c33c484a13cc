"""This machine's Docker engine as `./shopbox.sh` and forge would see an arm64 one (Apple Silicon, an arm64 Linux
host).

shopbox.sh learns the engine's architecture from `docker info --format {{.Architecture}}` and builds for it. Here the
engine is amd64, so a `docker` earlier on PATH answers that one question with `aarch64` and hands every other command
to the real CLI unchanged: the builds and containers are real, linux/arm64, run under qemu
(tests/platform/binfmt_arm64.sh). forge learns it from the API's `version()` (`Arch`): `Arm64APIClient` answers
that one call with `arm64` and is the real API client otherwise. Only the engine's self-description is stood in for.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import docker

ARCHITECTURE = "aarch64"  # what an arm64 engine's `docker info` says (the kernel's name, not Go's arm64)

_SHIM = """#!/usr/bin/env bash
# docker, reporting the engine's architecture as {arch} (tests/shopbox/arm64_engine.py)
set -euo pipefail
if [[ $# -eq 3 && $1 == info && $2 == --format && $3 == '{{{{.Architecture}}}}' ]]; then
  echo {arch}
  exit 0
fi
exec {docker} "$@"
"""


def environment(env: dict[str, str], into: Path) -> dict[str, str]:
    """`env` with a `docker` in INTO/arm64-engine first on PATH that reports an arm64 engine."""
    docker = shutil.which("docker", path=env.get("PATH"))
    if docker is None:
        raise RuntimeError("docker is not on PATH")
    shim_dir = into / "arm64-engine"
    shim_dir.mkdir(parents=True, exist_ok=True)
    shim = shim_dir / "docker"
    shim.write_text(_SHIM.format(arch=ARCHITECTURE, docker=docker))
    shim.chmod(0o755)
    return {**env, "PATH": f"{shim_dir}{os.pathsep}{env.get('PATH', '')}"}


class Arm64APIClient(docker.APIClient):
    """The engine's API client (DOCKER_HOST or the default socket) whose `version()` says `Arch: arm64`, what an
    arm64 engine's says (Go's name for it); every other call is the real one."""

    def __init__(self) -> None:
        super().__init__(**docker.utils.kwargs_from_env())

    def version(self, api_version: bool = True) -> dict[str, Any]:
        return {**super().version(api_version), "Arch": "arm64"}
