"""forge's BuildKit builder on the real engine with the real buildx plugin (tests/platform/build_cli_plugin.sh): a
cache mount and a build secret, the secret nowhere in the image, the skip-if-present rules, and the workshop's QOTM
built by both builders (buildx hidden with an empty DOCKER_CONFIG for the classic one)."""

from __future__ import annotations

import contextlib
import io
import tarfile
import uuid
from pathlib import Path

import pytest

from forge.images.builders import buildx_version
from forge.plan import plan
from tests.forge.cli import forge
from tests.platform.fixtures import require

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
SECRET = f"s3cret-{uuid.uuid4().hex}"  # unique, so finding it anywhere is a leak
DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY app.txt /app.txt
RUN --mount=type=cache,target=/cache,id=CACHE_ID sh -c 'ls /cache > /cache-before; date > /cache/stamp'
RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /secret-length
"""


@pytest.fixture(scope="module")
def buildx() -> str:
    version = buildx_version("docker")
    require(version is not None, "docker buildx is not installed (bash tests/platform/build_cli_plugin.sh --install "
                                 "buildx, which make setup runs)")
    return str(version)


def image_contains(docker_client, ref: str, needle: bytes, tmp_path: Path) -> bool:
    """Whether any file of `docker save REF` (manifest, config with its history, each layer) or any regular file
    inside a layer contains `needle`."""
    saved = tmp_path / "image.tar"
    with saved.open("wb") as out:
        for chunk in docker_client.images.get(ref).save():
            out.write(chunk)
    with tarfile.open(saved) as outer:
        for member in outer.getmembers():
            blob = outer.extractfile(member) if member.isfile() else None
            content = blob.read() if blob else b""
            if needle in content:
                return True
            with contextlib.suppress(tarfile.TarError), tarfile.open(fileobj=io.BytesIO(content)) as layer:
                for entry in layer.getmembers():  # a layer: the files in it
                    file = layer.extractfile(entry) if entry.isfile() else None
                    if file and needle in file.read():
                        return True
    return False


def test_cache_mount_and_secret_build_push_and_skip(tmp_path, monkeypatch, docker_client, registry, python_base_image,
                                                    buildx):
    name = f"forge-bk-{uuid.uuid4().hex[:10]}"
    service = tmp_path / "ws" / "svc"
    service.mkdir(parents=True)
    (service / "service.yaml").write_text(
        f"containers: [{{dockerfile: Dockerfile, name: {name}, args: {{BASE_IMAGE: '{python_base_image}'}}, "
        "secrets: [{id: token, env: FORGE_TEST_TOKEN}]}]\n")
    (service / "Dockerfile").write_text(DOCKERFILE.replace("CACHE_ID", name))
    (service / "app.txt").write_text(f"one {name}\n")
    monkeypatch.chdir(service)
    env = {"FORGE_BUILDER": "buildkit", "FORGE_TEST_TOKEN": SECRET, "KUBECONFIG": str(tmp_path / "none")}
    refs = []
    try:
        first = forge("build", "--registry", registry.host, env=env).ok()
        refs.append(first.stdout.strip())
        assert f"{refs[0]}: building (BuildKit)" in first.stderr
        assert f"{refs[0]}: step 3/4 RUN --mount=type=cache" in first.stderr
        assert f"{refs[0]}: pushed in" in first.stderr
        assert registry.tags(name) == [refs[0].rsplit(":", 1)[1]]
        run = docker_client.containers.run
        assert run(refs[0], ["cat", "/secret-length"], remove=True).decode().strip() == str(len(SECRET))
        assert run(refs[0], ["cat", "/cache-before"], remove=True).decode() == ""
        assert SECRET not in first.stdout + first.stderr
        history = docker_client.api.history(refs[0])
        assert SECRET not in str(history) and not image_contains(docker_client, refs[0], SECRET.encode(), tmp_path)
        assert image_contains(docker_client, refs[0], f"one {name}".encode(), tmp_path)  # the search sees app.txt

        again = forge("build", "--registry", registry.host, env=env).ok()
        assert again.stdout.strip() == refs[0]
        assert f"{refs[0]}: up to date in the registry" in again.stderr and "building" not in again.stderr

        (service / "app.txt").write_text("two\n")  # a new version, built from step 2 on: the cache mount kept its files
        second = forge("build", "--registry", registry.host, env=env).ok()
        refs.append(second.stdout.strip())
        assert refs[1] != refs[0] and f"{refs[1]}: pushed in" in second.stderr
        assert run(refs[1], ["cat", "/cache-before"], remove=True).decode() == "stamp\n"
    finally:
        for ref in refs:
            with contextlib.suppress(Exception):
                docker_client.images.remove(ref, force=True)


def test_a_missing_secret_stops_before_anything_is_built(tmp_path, monkeypatch, docker_client, registry,
                                                        python_base_image, buildx):
    service = tmp_path / "ws" / "svc"
    service.mkdir(parents=True)
    name = f"forge-bk-{uuid.uuid4().hex[:10]}"
    (service / "service.yaml").write_text(
        f"containers: [{{dockerfile: Dockerfile, name: {name}, secrets: [{{id: token, env: FORGE_TEST_TOKEN}}]}}]\n")
    (service / "Dockerfile").write_text(DOCKERFILE)
    (service / "app.txt").write_text("one\n")
    monkeypatch.chdir(service)
    monkeypatch.delenv("FORGE_TEST_TOKEN", raising=False)
    result = forge("build", "--registry", registry.host)
    assert result.exit_code == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: build of ") and last.endswith(
        "secret token: environment variable FORGE_TEST_TOKEN is not set")
    assert name not in registry.catalog()


@pytest.mark.parametrize("builder", ["buildkit", "classic"])
def test_the_workshop_qotm_builds_with_both_builders(tmp_path, docker_client, python_base_image, buildx, builder):
    """QOTM with the offline base (BASE_IMAGE build arg), no registry (the image stays in the engine). The classic
    run hides buildx behind an empty DOCKER_CONFIG and lets `auto` fall back; a unique build arg gives a fresh tag."""
    env = {"FORGE_BUILDER": "auto" if builder == "classic" else "buildkit", "KUBECONFIG": str(tmp_path / "none")}
    if builder == "classic":
        (tmp_path / "empty-docker-config").mkdir()
        env["DOCKER_CONFIG"] = str(tmp_path / "empty-docker-config")
    args = ["--build-arg", f"BASE_IMAGE={python_base_image}", "--build-arg", f"FORGE_TEST_RUN={uuid.uuid4().hex}"]
    [build] = plan(ROOT / "qotm", build_args=dict(arg.split("=", 1) for arg in args[1::2]))
    image = build.images["Dockerfile"]
    result = forge("build", str(ROOT / "qotm"), *args, env=env).ok()
    try:
        assert result.stdout.strip() == image.ref  # no forge.yaml in the repository: no registry
        assert ("building (BuildKit)" in result.stderr) == (builder == "buildkit"), result.stderr
        step = "step 4/5 RUN pip install" if builder == "buildkit" else "step 6/10 RUN pip install"
        assert f"{image.ref}: {step}" in result.stderr
        config = docker_client.images.get(image.ref).attrs["Config"]
        assert config["User"] == "10001:10001" and config["Cmd"] == ["python", "-m", "gunicorn", "qotm:app"]
    finally:
        with contextlib.suppress(Exception):
            docker_client.images.remove(image.ref, force=True)
