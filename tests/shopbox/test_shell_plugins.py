"""The Docker CLI plugins in the shell image, for real through `./shopbox.sh --no-cluster run -- ...` with the
offline image: `docker compose` and `docker buildx` answer, and forge in the shell builds with BuildKit on the
host's engine (a cache mount, the offline base image as BASE_IMAGE)."""

from __future__ import annotations

import contextlib
import uuid

import pytest

from tests.shopbox.offline_image import versions
from tests.shopbox.script import run_script

pytestmark = pytest.mark.docker


def test_compose_buildx_and_forge_with_buildkit_in_the_shell(setup, shopbox_image, python_base_image, tmp_path,
                                                            docker_client):
    name = f"shell-bk-{uuid.uuid4().hex[:10]}"
    service = tmp_path / "ws" / "svc"
    service.mkdir(parents=True)
    (service / "service.yaml").write_text(
        f"containers: [{{dockerfile: Dockerfile, name: {name}, args: {{BASE_IMAGE: '{python_base_image}'}}}}]\n")
    (service / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n"
                                        "RUN --mount=type=cache,target=/root/.cache echo cached\nCOPY hello.txt /\n")
    (service / "hello.txt").write_text(f"hello from {name}\n")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    env = {**setup.env, "SHOPBOX_IMAGE": shopbox_image, "SHOPBOX_WORKSPACE": str(tmp_path / "ws"),
           "KUBECONFIG": str(kubeconfig)}
    script = "docker compose version && docker buildx version && cd svc && forge build"
    result = run_script("--no-cluster", "run", "--", "bash", "-c", script, env=env, timeout=300)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        pins = versions()
        compose, buildx, ref = result.stdout.splitlines()
        assert compose == f"Docker Compose version v{pins['COMPOSE_VERSION']}"
        assert buildx.startswith(f"github.com/docker/buildx v{pins['BUILDX_VERSION']}")
        assert ref.startswith(f"{name}:")  # no registry: the image stays in the host's engine
        assert f"{ref}: building (BuildKit)" in result.stderr
        assert f"{ref}: step 2/3 RUN --mount=type=cache,target=/root/.cache echo cached" in result.stderr
        assert docker_client.images.get(ref)
    finally:
        for built in (line for line in result.stdout.splitlines() if line.startswith(f"{name}:")):
            with contextlib.suppress(Exception):
                docker_client.images.remove(built, force=True)
