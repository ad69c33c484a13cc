"""Build the shopbox image offline, from the project's Dockerfile, through `shopbox.sh build`.

No image or release file can be downloaded here, so the build arguments point at local sources instead of the
pinned downloads: kubectl and the Docker CLI from this machine, kind and the Compose and Buildx CLI plugins built
from the Go module proxy at the pinned versions, a forge wheelhouse built on the host, and a debootstrap base with
the image's Debian packages preinstalled (the Dockerfile then skips apt). Everything is cached (SHOPBOX_CACHE and
the engine's images), so only the first build is slow. Run as a module to build ahead of the tests; it prints the
image reference.
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

from tests.platform.base_images import CACHE, ROOT, BaseImage, ensure
from versions_env import read_versions as versions  # the one versions.env reader

SHOPBOX_SH = ROOT / "shopbox.sh"
LOCAL_KUBECTL = Path("/usr/bin/kubectl")
LOCAL_DOCKER = Path("/usr/local/bin/docker")


def packages() -> tuple[str, ...]:
    """The Debian packages the Dockerfile installs (shopbox/packages.txt)."""
    lines = (ROOT / "shopbox" / "packages.txt").read_text().splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


BASE = BaseImage(repository="shopbox-test/shopbox-base", debs=packages())


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


def go_install(name: str, version: str, *packages: str, tags: str = "") -> Path:
    """`go install PACKAGE@version` for each package into CACHE/kind-tools/NAME-VERSION, once (static binaries)."""
    target = CACHE / "kind-tools" / f"{name}-{version}"
    with cache_lock(f"kind-tools-{name}"):
        if not (target / ".complete").exists():
            print(f"building {name} {version} from the Go module proxy", file=sys.stderr)
            shutil.rmtree(target, ignore_errors=True)
            env = {**os.environ, "GOBIN": str(target), "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false",
                   "GOTOOLCHAIN": "local"}
            run_checked(["go", "install", "-trimpath", "-ldflags=-s -w", "-tags", tags,
                         *(f"{package}@{version}" for package in packages)], env=env, timeout=3600)
            (target / ".complete").touch()
    return target


def kind_binary() -> Path:
    """kind at the pinned version, built once from the Go module proxy."""
    return go_install("kind", "v" + versions()["KIND_VERSION"], "sigs.k8s.io/kind") / "kind"


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


# The project's Python packages the image needs.
PACKAGES = ("forge", "exercises", "shopbox_setup", "versions_env", "classroom")


def _pip_wheel(out: Path, *options: str) -> None:
    """`pip wheel` of a copy of pyproject.toml + forge/, so the build leaves nothing in the repository."""
    with tempfile.TemporaryDirectory(prefix="shopbox-src-") as tmp:
        src = Path(tmp)
        shutil.copy2(ROOT / "pyproject.toml", src)
        for package in PACKAGES:
            shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
        run_checked([sys.executable, "-m", "pip", "wheel", "-q", *options, "--wheel-dir", str(out), str(src)])


def wheelhouse() -> Path:
    """Wheels of forge and its pinned dependencies, built on the host. The dependencies are cached by
    pyproject.toml, the forge wheel by forge's sources (it changes often and builds in seconds)."""
    root = CACHE / "shopbox-wheels"
    deps = root / f"deps-{_digest([ROOT / 'pyproject.toml'])}"
    forge_sources = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*")
                           if p.is_file() and "__pycache__" not in p.parts)
    target = root / _digest([ROOT / "pyproject.toml", *forge_sources])
    with cache_lock("shopbox-wheels"):
        if not deps.exists():
            _pip_wheel(root / "deps.tmp")
            for wheel in (root / "deps.tmp").glob("shopbox_forge-*.whl"):
                wheel.unlink()
            (root / "deps.tmp").rename(deps)
        if not target.exists():
            # Earlier forge versions; not with SHOPBOX_KEEP_OTHER_TAGS=1: another worktree's build may be using its
            # wheels right now (remove_other_tags).
            for old in root.iterdir() if os.environ.get("SHOPBOX_KEEP_OTHER_TAGS") != "1" else ():
                if old.is_dir() and not old.name.startswith("deps-"):
                    shutil.rmtree(old)
            staging = root / "forge.tmp"
            staging.mkdir()
            for wheel in deps.glob("*.whl"):
                os.link(wheel, staging / wheel.name)
            _pip_wheel(staging, "--no-deps")
            staging.rename(target)
    return target


def cli_plugin(name: str) -> Path:
    """The Docker CLI plugin `name` (compose, buildx) at its pinned version, built once from its Go module."""
    script = ROOT / "tests" / "platform" / "build_cli_plugin.sh"
    with cache_lock(f"cli-plugin-{name}"):
        return Path(run_checked(["bash", str(script), name], timeout=3600).stdout.strip())


def tools_dir(into: Path) -> Path:
    """A directory with the local kubectl, kind and docker binaries and the compose and buildx plugins, the layout
    SHOPBOX_TOOLS_DIR expects."""
    into.mkdir(parents=True, exist_ok=True)
    for name, source in (("kubectl", LOCAL_KUBECTL.resolve()), ("kind", kind_binary()),
                         ("docker", LOCAL_DOCKER), ("compose", cli_plugin("compose")),
                         ("buildx", cli_plugin("buildx"))):
        shutil.copy2(source, into / name)
    return into


def build_env(tools: Path) -> dict[str, str]:
    """Environment for `shopbox.sh build` that takes every input from a local source."""
    return {**os.environ, "SHOPBOX_TOOLS_DIR": str(tools), "SHOPBOX_WHEELS_DIR": str(wheelhouse()),
            "SHOPBOX_BASE_IMAGE": ensure(BASE)}


REPOSITORY = "shopbox-test/shopbox"


def build() -> str:
    """Build (or reuse) the shopbox image offline; return its reference. Older test builds are removed (each
    holds its own forge layer)."""
    with tempfile.TemporaryDirectory(prefix="shopbox-tools-") as tmp:
        env = {**build_env(tools_dir(Path(tmp))), "SHOPBOX_IMAGE_REPOSITORY": REPOSITORY}
        ref = run_checked(["bash", str(SHOPBOX_SH), "build"], env=env, timeout=1200).stdout.strip().splitlines()[-1]
    remove_other_tags(REPOSITORY, ref)
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
    print(build())
