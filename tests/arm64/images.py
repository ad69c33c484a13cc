"""The arm64 images of the docker tier, built once and kept, tagged by a hash of their inputs (the builds run their
Dockerfile steps under qemu, several times slower than natively): the services' images on the arm64 offline
Python base, and the arm64 shell image (tests/shopbox/offline_image.py, `make setup` builds it ahead)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import docker

from tests.platform.base_images import HOST_ARCH, PYTHON_SERVICES, ROOT, BaseImage, ensure
from tests.shopbox.offline_image import base, remove_other_tags

ARCH = "arm64"
PLATFORM = f"linux/{ARCH}"
# The services' arm64 base: their requirements on the arm64 shell base's Debian packages (a superset of theirs), so
# that both come from one emulated debootstrap.
BASE = BaseImage(PYTHON_SERVICES.repository, base(ARCH).debs, PYTHON_SERVICES.requirements, ARCH)


def _inputs_hash(directory: Path, base: str) -> str:
    digest = hashlib.sha256(base.encode())
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


SERVICES = {"qotm": ROOT / "qotm", "auth": ROOT / "envoy-canary" / "auth", "usersvc": ROOT / "usersvc",
            "eds": ROOT / "eds"}


def service_images(client: docker.DockerClient) -> dict[str, str]:
    """Every service's arm64 image, by service name."""
    return {name: service_image(client, name, directory) for name, directory in SERVICES.items()}


def service_image(client: docker.DockerClient, name: str, directory: Path) -> str:
    """The service's image for linux/arm64 from its Dockerfile on the arm64 offline base, built when its inputs
    changed; older builds of it are untagged."""
    base = ensure(BASE)
    repository = f"shopbox-test/{ARCH}-{name}"
    ref = f"{repository}:{_inputs_hash(directory, base)}"
    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        client.images.build(path=str(directory), tag=ref, buildargs={"BASE_IMAGE": base}, platform=PLATFORM,
                            rm=True, forcerm=True)
        remove_other_tags(repository, ref)
    return ref


BINFMT = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")


def runs_arm64() -> bool:
    """This machine runs linux/arm64 containers: natively, or through qemu registered with binfmt_misc with the
    fix-binary flag (tests/platform/binfmt_arm64.sh), which containers need."""
    if HOST_ARCH == ARCH:
        return True
    try:
        entry = BINFMT.read_text().splitlines()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1] for line in entry if line.startswith("flags:")), "")
    return "enabled" in entry and "F" in flags


if __name__ == "__main__":  # make setup: build (or find) the services' arm64 images ahead of the docker tier
    for ref in service_images(docker.from_env()).values():
        print(ref)
