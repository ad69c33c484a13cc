"""Offline base images for Docker builds in tests.

No image can be pulled here, so a project Dockerfile's `FROM ${BASE_IMAGE}` is fed a base built locally:
debootstrap (Debian packages from the machine's apt sources), Python requirements installed from PyPI on the
host, then `docker import`. Images are tagged by a hash of their recipe and kept in the engine, so a rebuild
happens only when the recipe or a requirements file changes. Run as a module to build them ahead of the tests.

An arm64 base (`arch="arm64"`, for the arm64 images of tests/arm64/) is built the same way on this amd64 machine:
debootstrap --arch=arm64 runs its second stage under qemu (tests/platform/binfmt_arm64.sh registers it), pip
installs the aarch64 wheels, and the image is labelled linux/arm64 (a `FROM scratch` build with --platform: this
engine's `docker import` ignores --platform).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import platform
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
HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def wheel_platform(arch: str) -> list[str]:
    """pip options that select the CPython 3.11 (bookworm's) wheels for linux/ARCH, binary wheels only."""
    machine = {"amd64": "x86_64", "arm64": "aarch64"}[arch]
    tags = [f"manylinux{tag}_{machine}" for tag in ("2014", "_2_17", "_2_28", "_2_34")]
    return ["--only-binary=:all:", *(f"--platform={tag}" for tag in tags), "--python-version=3.11",
            "--implementation=cp", "--abi=cp311"]


@dataclass(frozen=True)
class BaseImage:
    """A Debian base with some packages and Python requirements preinstalled, for linux/`arch`."""

    repository: str
    debs: tuple[str, ...]
    requirements: tuple[str, ...] = ()  # paths relative to the repository root
    arch: str = HOST_ARCH

    @property
    def tag(self) -> str:
        # The host's architecture is left out of the hash: its bases keep the tags they had before arm64 came.
        foreign = f"|{self.arch}" if self.arch != HOST_ARCH else ""
        digest = hashlib.sha256(f"{RECIPE}|{SUITE}|{','.join(sorted(self.debs))}{foreign}".encode())
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


def _debootstrap(image: BaseImage, rootfs: Path) -> None:
    _run(["debootstrap", "--variant=minbase", f"--arch={image.arch}", f"--include={','.join(image.debs)}", SUITE,
          str(rootfs), MIRROR])


def _foreign_debootstrap(image: BaseImage, rootfs: Path) -> None:
    """debootstrap for another architecture, whose second stage (every package's scripts) runs under qemu and takes
    minutes: the bare system is kept as a tarball in CACHE, shared by every base of that architecture with the same
    packages (the arm64 shell and Python bases ask for the same ones for that reason)."""
    key = hashlib.sha256(f"{RECIPE}|{SUITE}|{image.arch}|{','.join(sorted(image.debs))}".encode()).hexdigest()[:16]
    tar = CACHE / "rootfs" / f"{SUITE}-{image.arch}-{key}.tar"
    if not tar.exists():
        _debootstrap(image, rootfs)
        tar.parent.mkdir(parents=True, exist_ok=True)
        _run(["tar", "-C", str(rootfs), "-cf", f"{tar}.tmp", "."])
        os.replace(f"{tar}.tmp", tar)
        return
    rootfs.mkdir()
    _run(["tar", "-C", str(rootfs), "-xf", str(tar)])


def _bootstrap(image: BaseImage, rootfs: Path) -> None:
    if image.arch == HOST_ARCH:
        _debootstrap(image, rootfs)
    else:
        _foreign_debootstrap(image, rootfs)
    (rootfs / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)
    # One pip run per file: some are hash-locked, some only pinned, and pip demands hashes of every requirement of
    # a run once one has them. Each file is a whole closure; a package two files pin (at the same version, today)
    # is installed by the first.
    foreign = wheel_platform(image.arch) if image.arch != HOST_ARCH else []
    for req in image.requirements:
        _run([sys.executable, "-m", "pip", "install", "-q", "--no-compile", *foreign, "--target",
              str(rootfs / PYTHON_SITE), "-r", str(ROOT / req)])
    shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)


ENV = ("LANG=C.UTF-8", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")


def _import(image: BaseImage, rootfs: Path) -> None:
    """The rootfs as image.tag: `docker import` for the host's architecture; for another one a `FROM scratch` build
    for linux/ARCH, which labels the image with its architecture (this engine's `docker import` ignores --platform,
    and a BuildKit `FROM` of a mislabelled image would try to pull it)."""
    if image.arch == HOST_ARCH:
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        _run(["docker", "import", *(f"--change=ENV {env}" for env in ENV), "-", image.tag], stdin=tar.stdout)
        tar.wait()
        return
    context = rootfs.parent / "context"
    context.mkdir()
    _run(["tar", "-C", str(rootfs), "-cf", str(context / "rootfs.tar"), "."])
    (context / "Dockerfile").write_text("FROM scratch\nADD rootfs.tar /\n" + "".join(f"ENV {e}\n" for e in ENV))
    _run(["docker", "build", "-q", f"--platform=linux/{image.arch}", "--tag", image.tag, str(context)],
         env={**os.environ, "DOCKER_BUILDKIT": "0"})


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
        print(f"building base image {ref} (debootstrap {SUITE}, linux/{image.arch})", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="shopbox-rootfs-") as tmp:
            rootfs = Path(tmp) / "rootfs"
            _bootstrap(image, rootfs)
            _import(image, rootfs)
    return ref


if __name__ == "__main__":
    print(ensure(PYTHON_SERVICES))
