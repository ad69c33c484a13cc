"""Build the shopbox image offline, from the project's Dockerfile, through `shopbox.sh build`.

No image or release file can be downloaded here, so the build arguments point at local sources instead of the
pinned downloads: kubectl and the Docker CLI from this machine, kind and the Compose and Buildx CLI plugins built
from the Go module proxy at the pinned versions, a wheelhouse of forge and its hash-locked dependencies
(shopbox/requirements.lock) made on the host, and a debootstrap base with the image's Debian packages preinstalled
(the Dockerfile then skips apt). Everything is cached (SHOPBOX_CACHE and the engine's images), so only the first
build is slow. Run as a module to build ahead of the tests; it prints the image reference.

`build("arm64")` makes the linux/arm64 image on this amd64 machine, as `./shopbox.sh build` does on an arm64 engine
(tests/shopbox/arm64_engine.py): every Go tool cross-compiled with GOARCH=arm64 (kubectl from tests/cluster's
module, the Docker CLI from its module; the module cache is the amd64 builds'), the aarch64 wheels of the same lock,
and an arm64 debootstrap base (its package scripts run under qemu).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.platform.base_images import CACHE, HOST_ARCH, PYTHON_SERVICES, ROOT, BaseImage, ensure, wheel_platform
from tests.shopbox import arm64_engine
from versions_env import read_versions as versions  # the one versions.env reader

SHOPBOX_SH = ROOT / "shopbox.sh"
LOCAL_KUBECTL = Path("/usr/bin/kubectl")
LOCAL_DOCKER = Path("/usr/local/bin/docker")


def packages() -> tuple[str, ...]:
    """The Debian packages the Dockerfile installs (shopbox/packages.txt)."""
    lines = (ROOT / "shopbox" / "packages.txt").read_text().splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


BASE = BaseImage(repository="shopbox-test/shopbox-base", debs=packages())


def base(arch: str = HOST_ARCH) -> BaseImage:
    """The shell image's offline base for linux/ARCH. Another architecture's is bootstrapped under qemu, which takes
    minutes, so it also carries what the Python services' base needs: one cached bootstrap serves both
    (tests/arm64/images.py)."""
    if arch == HOST_ARCH:
        return BASE
    return BaseImage(BASE.repository, tuple(sorted({*BASE.debs, *PYTHON_SERVICES.debs})), arch=arch)


def run_checked(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv[:4]))} failed ({result.returncode}):\n"
                           f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result


@contextmanager
def cache_lock(name: str) -> Iterator[None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def go_install(name: str, version: str, *packages: str, tags: str = "", arch: str = HOST_ARCH) -> Path:
    """`go install PACKAGE@version` for each package into CACHE/kind-tools/NAME-VERSION[-ARCH], once (static
    binaries for linux/ARCH)."""
    target = CACHE / "kind-tools" / (f"{name}-{version}" if arch == HOST_ARCH else f"{name}-{version}-{arch}")
    with cache_lock(f"kind-tools-{name}"), tempfile.TemporaryDirectory(prefix="shopbox-gopath-") as gopath:
        if not (target / ".complete").exists():
            print(f"building {name} {version} (linux/{arch}) from the Go module proxy", file=sys.stderr)
            shutil.rmtree(target, ignore_errors=True)
            env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false", "GOTOOLCHAIN": "local",
                   "GOARCH": arch}
            if arch == HOST_ARCH:
                env["GOBIN"] = str(target)
            else:  # a cross-compiling `go install` refuses GOBIN: GOPATH/bin/linux_ARCH of a scratch GOPATH
                modules = run_checked(["go", "env", "GOMODCACHE"]).stdout.strip()
                env.update(GOPATH=gopath, GOMODCACHE=modules, GOBIN="")
            run_checked(["go", "install", "-trimpath", "-ldflags=-s -w", "-tags", tags,
                         *(f"{package}@{version}" for package in packages)], env=env, timeout=3600)
            if arch != HOST_ARCH:
                shutil.copytree(Path(gopath) / "bin" / f"linux_{arch}", target)
            (target / ".complete").touch()
    return target


def kind_binary(arch: str = HOST_ARCH) -> Path:
    """kind at the pinned version for linux/ARCH, built once from the Go module proxy."""
    return go_install("kind", "v" + versions()["KIND_VERSION"], "sigs.k8s.io/kind", arch=arch) / "kind"


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


# The project's Python packages the image needs.
PACKAGES = ("forge", "exercises", "shopbox_setup", "versions_env", "classroom")


def _forge_wheel(out: Path) -> None:
    """The wheel of the project alone (`pip wheel --no-deps` of a copy of pyproject.toml and its packages, so the
    build leaves nothing in the repository)."""
    with tempfile.TemporaryDirectory(prefix="shopbox-src-") as tmp:
        src = Path(tmp)
        shutil.copy2(ROOT / "pyproject.toml", src)
        for package in PACKAGES:
            shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
        run_checked([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(out), str(src)])


LOCK = ROOT / "shopbox" / "requirements.lock"  # forge's dependencies, hash-locked (`make lock`)


def wheelhouse(arch: str = HOST_ARCH) -> Path:
    """Wheels of forge and its dependencies for linux/ARCH: the dependencies are the binary wheels of
    shopbox/requirements.lock for CPython 3.11 on ARCH, checked against its hashes (`pip download
    --require-hashes`), cached by the lock; the forge wheel (pure Python) is built from forge's sources, cached by
    them (it changes often and builds in seconds)."""
    root = CACHE / "shopbox-wheels"
    deps = root / f"deps-{arch}-{_digest([LOCK])}"
    forge_sources = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*")
                           if p.is_file() and "__pycache__" not in p.parts)
    target = root / f"{arch}-{_digest([ROOT / 'pyproject.toml', LOCK, *forge_sources])}"
    with cache_lock("shopbox-wheels"):
        if not deps.exists():
            shutil.rmtree(root / "deps.tmp", ignore_errors=True)
            run_checked([sys.executable, "-m", "pip", "download", "-q", "--no-deps", *wheel_platform(arch),
                         "--require-hashes", "-r", str(LOCK), "--dest", str(root / "deps.tmp")], timeout=1200)
            (root / "deps.tmp").rename(deps)
        if not target.exists():
            # Earlier forge versions of this architecture; not with SHOPBOX_KEEP_OTHER_TAGS=1: another worktree's
            # build may be using its wheels right now (remove_other_tags).
            for old in root.glob(f"{arch}-*") if os.environ.get("SHOPBOX_KEEP_OTHER_TAGS") != "1" else ():
                shutil.rmtree(old)
            staging = root / "forge.tmp"
            shutil.rmtree(staging, ignore_errors=True)  # a build that died half-way (we hold the lock)
            staging.mkdir()
            for wheel in deps.glob("*.whl"):
                os.link(wheel, staging / wheel.name)
            _forge_wheel(staging)
            staging.rename(target)
    return target


def cli_plugin(name: str, arch: str = HOST_ARCH) -> Path:
    """The Docker CLI plugin `name` (compose, buildx), or the Docker CLI (docker), at its pinned version for
    linux/ARCH, built once from its Go module."""
    script = ROOT / "tests" / "platform" / "build_cli_plugin.sh"
    with cache_lock(f"cli-plugin-{name}"):
        return Path(run_checked(["bash", str(script), name], env={**os.environ, "GOARCH": arch},
                                timeout=3600).stdout.strip())


def kubectl_binary(arch: str) -> Path:
    """kubectl for linux/ARCH from tests/cluster's Go module (the Kubernetes version the tests run)."""
    script = ROOT / "tests" / "cluster" / "build.sh"
    out = run_checked(["bash", str(script), "kubectl"], env={**os.environ, "GOARCH": arch}, timeout=3600)
    return Path(out.stdout.strip().splitlines()[-1]) / "kubectl"


def tools_dir(into: Path, arch: str = HOST_ARCH) -> Path:
    """A directory with kubectl, kind and docker and the compose and buildx plugins for linux/ARCH, the layout
    SHOPBOX_TOOLS_DIR expects: this machine's kubectl and docker for its own architecture, else cross-compiled."""
    into.mkdir(parents=True, exist_ok=True)
    local = arch == HOST_ARCH
    for name, source in (("kubectl", LOCAL_KUBECTL.resolve() if local else kubectl_binary(arch)),
                         ("kind", kind_binary(arch)),
                         ("docker", LOCAL_DOCKER if local else cli_plugin("docker", arch)),
                         ("compose", cli_plugin("compose", arch)), ("buildx", cli_plugin("buildx", arch))):
        shutil.copy2(source, into / name)
    return into


def build_env(tools: Path, arch: str = HOST_ARCH) -> dict[str, str]:
    """Environment for `shopbox.sh build` that takes every input from a local source."""
    return {**os.environ, "SHOPBOX_TOOLS_DIR": str(tools), "SHOPBOX_WHEELS_DIR": str(wheelhouse(arch)),
            "SHOPBOX_BASE_IMAGE": ensure(base(arch))}


REPOSITORY = "shopbox-test/shopbox"


def repository(arch: str) -> str:
    return REPOSITORY if arch == HOST_ARCH else f"{REPOSITORY}-{arch}"


def build(arch: str = HOST_ARCH) -> str:
    """Build (or reuse) the shopbox image for linux/ARCH offline; return its reference. Older test builds are
    removed (each holds its own forge layer)."""
    with tempfile.TemporaryDirectory(prefix="shopbox-tools-") as tmp:
        env = {**build_env(tools_dir(Path(tmp) / "tools", arch), arch), "SHOPBOX_IMAGE_REPOSITORY": repository(arch)}
        if arch != HOST_ARCH:
            env = arm64_engine.environment(env, Path(tmp))
        ref = run_checked(["bash", str(SHOPBOX_SH), "build"], env=env, timeout=3600).stdout.strip().splitlines()[-1]
    remove_other_tags(repository(arch), ref)
    return ref


def remove_other_tags(repository: str, keep: str) -> None:
    """Untag every image of `repository` but `keep` (earlier builds of a hash-tagged test image).

    SHOPBOX_KEEP_OTHER_TAGS=1 keeps them: worktrees sharing one engine must not untag each other's builds.
    """
    if os.environ.get("SHOPBOX_KEEP_OTHER_TAGS") == "1":
        return
    tags = run_checked(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repository]).stdout.split()
    stale = [tag for tag in tags if tag != keep]
    if stale:
        subprocess.run(["docker", "rmi", *stale], capture_output=True)


if __name__ == "__main__":
    print(build(*sys.argv[1:]))
