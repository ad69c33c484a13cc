"""Offline base images for Docker builds in tests.

No image can be pulled here, so a project Dockerfile's `FROM ${BASE_IMAGE}` is fed a base built locally:
debootstrap (Debian packages from the machine's apt sources), Python requirements installed from PyPI on the
host, then `docker import`. Images are tagged by a hash of their recipe and kept in the engine, so a rebuild
happens only when the recipe or a requirements file changes. Run as a module to build them ahead of the tests.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("SHOPBOX_CACHE", Path.home() / ".cache" / "shopbox"))
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
RECIPE = "2"  # bump when the build steps below change
PYTHON_SITE = "usr/local/lib/python3.11/dist-packages"  # bookworm's python3 is 3.11, like the host's


@dataclass(frozen=True)
class BaseImage:
    """A Debian base with some packages and Python requirements preinstalled."""

    repository: str
    debs: tuple[str, ...]
    requirements: tuple[str, ...] = ()  # paths relative to the repository root

    @property
    def tag(self) -> str:
        digest = hashlib.sha256(f"{RECIPE}|{SUITE}|{','.join(sorted(self.debs))}".encode())
        for req in self.requirements:
            digest.update((ROOT / req).read_bytes())
        return f"{self.repository}:{digest.hexdigest()[:16]}"


# The base for the project's Python services (qotm, auth): stands in for python:3.12-alpine.
PYTHON_SERVICES = BaseImage(
    repository="shopbox-test/python-base",
    debs=("python3", "python3-pip", "python-is-python3", "ca-certificates"),
    requirements=("qotm/requirements.txt", "envoy-canary/auth/requirements.txt", "usersvc/requirements.txt",
                  "eds/requirements.txt"),
)


def image_exists(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0


def _run(argv: list[str], **kwargs: object) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed ({result.returncode}):\n{result.stderr[-3000:]}")


def _bootstrap(image: BaseImage, rootfs: Path) -> None:
    _run(["debootstrap", "--variant=minbase", f"--include={','.join(image.debs)}", SUITE, str(rootfs), MIRROR])
    (rootfs / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)
    # One pip run per file: some are hash-locked, some only pinned, and pip demands hashes of every requirement of
    # a run once one has them. Each file is a whole closure; a package two files pin (at the same version, today)
    # is installed by the first.
    for req in image.requirements:
        _run([sys.executable, "-m", "pip", "install", "-q", "--no-compile", "--target", str(rootfs / PYTHON_SITE),
              "-r", str(ROOT / req)])
    shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)


def ensure(image: BaseImage) -> str:
    """Return the image reference, building and importing it into the engine if it is not there yet."""
    ref = image.tag
    if image_exists(ref):
        return ref
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "base-images.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if image_exists(ref):
            return ref
        print(f"building base image {ref} (debootstrap {SUITE})", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="shopbox-rootfs-") as tmp:
            rootfs = Path(tmp) / "rootfs"
            _bootstrap(image, rootfs)
            tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
            _run(["docker", "import", "--change", "ENV LANG=C.UTF-8",
                  "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                  "-", ref], stdin=tar.stdout)
            tar.wait()
    return ref


if __name__ == "__main__":
    print(ensure(PYTHON_SERVICES))
