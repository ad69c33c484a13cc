"""forge on an arm64 engine (docker tier), one real cross-build: forge asks the engine its architecture
(tests/shopbox/arm64_engine.py stands in for that answer only) and builds for it; the image is linux/arm64 and its
RUN step ran as aarch64, under qemu, on the arm64 offline Python base."""

from __future__ import annotations

import io
import uuid

import pytest

from forge.images.engine import DockerEngine
from forge.model import Container, Image
from forge.progress import PlainReporter
from tests.arm64.images import ARCH, BASE, runs_arm64
from tests.platform.base_images import ensure
from tests.platform.fixtures import require, require_command
from tests.shopbox.arm64_engine import Arm64APIClient

pytestmark = pytest.mark.docker

DOCKERFILE = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN uname -m > /built-on\n"


def test_forge_builds_the_engines_architecture(docker_client, tmp_path):
    require_command("debootstrap")
    require(runs_arm64(), "qemu's aarch64 interpreter registered with binfmt_misc (tests/platform/start.sh)")
    context = tmp_path / "svc"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE)
    container = Container(key="Dockerfile", name="forge-arm64", dockerfile=context / "Dockerfile", context=context,
                          args={"BASE_IMAGE": ensure(BASE)})
    version = uuid.uuid4().hex[:16]
    image = Image(container=container, version=version, ref=f"shopbox-test/forge-{ARCH}:{version}")
    engine = DockerEngine(Arm64APIClient())
    assert engine.platform() == f"linux/{ARCH}"
    try:
        engine.build(image, PlainReporter(io.StringIO()))
        attrs = docker_client.api.inspect_image(image.ref)
        assert (attrs["Os"], attrs["Architecture"]) == ("linux", ARCH)
        built_on = docker_client.containers.run(image.ref, ["cat", "/built-on"], remove=True)
        assert built_on.decode().strip() == "aarch64"
    finally:
        engine.untag(image.ref)
