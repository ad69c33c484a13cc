"""shopbox.sh on an arm64 engine (unit: a `docker` that answers for the engine, nothing built): the architecture it
decides on, the image it would build for it, the checksums it verifies, and doctor's lines on the engine's
architecture and on what Docker Desktop, Rancher Desktop, Colima and Podman mean for the workshop."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from tests.shopbox.offline_image import ROOT, versions
from tests.shopbox.script import argv, call, run_script

pytestmark = pytest.mark.unit


def engine(tmp_path: Path, architecture: str = "aarch64", os_name: str = "Docker Desktop",
           name: str = "docker-desktop", components: str = "Engine;containerd;") -> dict[str, str]:
    """PATH with a `docker` that describes an engine (`docker info`, `docker version`), has no image and no buildx,
    and records every other command it is asked, without running it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "docker").write_text(f"""#!/usr/bin/env bash
case "$*" in
  "info --format {{{{.Architecture}}}}") echo {architecture} ;;
  "info --format {{{{.OperatingSystem}}}};{{{{.Name}}}}") echo "{os_name};{name}" ;;
  "info --format {{{{.OperatingSystem}}}}") echo "{os_name}" ;;
  "version --format {{{{range .Server.Components}}}}{{{{.Name}}}};{{{{end}}}}") echo "{components}" ;;
  "version --format"*) echo 29.1.0 ;;
  "image inspect"* | "buildx version") exit 1 ;;
  *) echo "$*" >>"{tmp_path}/docker.log" ;;
esac
""")
    (bin_dir / "docker").chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "SHOPBOX_CACHE": str(tmp_path / "cache")}


@pytest.mark.parametrize(("architecture", "arch"), [("x86_64", "amd64"), ("amd64", "amd64"), ("aarch64", "arm64"),
                                                    ("arm64", "arm64")])
def test_the_engines_architecture_names_the_platform(tmp_path, architecture, arch):
    assert call("engine_arch", engine(tmp_path, architecture)).strip() == arch


def test_an_engine_of_another_architecture_is_refused_in_one_line(tmp_path):
    result = run_script("build", env=engine(tmp_path, "armv7l"))
    assert result.returncode == 1
    assert result.stderr.strip() == ("shopbox: error: wrong architecture: the Docker engine runs on armv7l; shopbox "
                                     "(kind node images and tools) supports amd64 and arm64 only")


def test_on_an_arm64_engine_the_shell_image_is_built_for_linux_arm64(tmp_path):
    """The decision end to end: ./shopbox.sh build (a dry run) on an engine that says aarch64."""
    result = run_script("build", env={**engine(tmp_path), "SHOPBOX_DRY_RUN": "1"})
    assert result.returncode == 0, result.stderr
    [build] = [line for line in result.stdout.splitlines() if line.startswith("+ env DOCKER_BUILDKIT=0 docker build")]
    assert build.startswith("+ env DOCKER_BUILDKIT=0 docker build --platform linux/arm64 --tag shopbox:")
    arm64 = result.stdout.strip().splitlines()[-1]
    amd64 = run_script("build", env={**engine(tmp_path, "x86_64"), "SHOPBOX_DRY_RUN": "1"}).stdout.splitlines()[-1]
    assert arm64.startswith("shopbox:") and amd64.startswith("shopbox:") and arm64 != amd64  # one tag per platform


def test_an_offline_arm64_build_verifies_the_local_tools_as_the_arm64_ones(tmp_path):
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("kubectl", "kind", "docker", "compose", "buildx"):
        (tools / name).write_bytes(f"arm64 {name}".encode())
    lines = call("ARCH=arm64; build_args", {"SHOPBOX_TOOLS_DIR": str(tools)}).splitlines()
    args = dict(line.split("=", 1) for line in lines[1::2])
    for key, name in (("KUBECTL", "kubectl"), ("KIND", "kind"), ("DOCKER_CLI", "docker"), ("COMPOSE", "compose"),
                      ("BUILDX", "buildx")):
        assert args[f"{key}_SHA256_ARM64"] == hashlib.sha256(f"arm64 {name}".encode()).hexdigest()
        assert args[f"{key}_SHA256_AMD64"] == versions()[f"{key}_SHA256_AMD64"]


def test_docker_default_platform_is_set_aside(tmp_path):
    """A DOCKER_DEFAULT_PLATFORM kept for other projects reaches none of shopbox's docker commands."""
    env = {**engine(tmp_path), "DOCKER_DEFAULT_PLATFORM": "linux/amd64"}
    assert call('echo "${DOCKER_DEFAULT_PLATFORM-unset} $DEFAULT_PLATFORM"', env).strip() == "unset linux/amd64"
    assert "--platform linux/arm64" in " ".join(argv("ARCH=$(engine_arch); build_command shopbox:x /ctx", env))


ARM64_TESTED = ("CI builds the shell and the services' arm64 images and runs them under emulation (qemu on amd64), "
                "not the cluster or the labs on an arm64 machine")


def test_doctor_names_the_architecture_what_ci_tests_of_it_and_what_is_set_aside(tmp_path):
    env = {**engine(tmp_path), "DOCKER_DEFAULT_PLATFORM": "linux/amd64"}
    out = call("doctor_architecture", env)
    assert out.strip() == ("[ OK ] architecture   arm64: the shell image, the kind node and forge's images are "
                           f"linux/arm64; {ARM64_TESTED}; DOCKER_DEFAULT_PLATFORM=linux/amd64 is set aside")
    assert call("doctor_architecture", {**env, "DOCKER_DEFAULT_PLATFORM": "linux/arm64"}).strip().endswith(
        f"linux/arm64; {ARM64_TESTED}")
    amd64 = call("doctor_architecture", engine(tmp_path, "x86_64")).strip()
    assert amd64 == "[ OK ] architecture   amd64: the shell image, the kind node and forge's images are linux/amd64"


@pytest.mark.parametrize(("os_name", "name", "components", "kind", "status", "words"), [
    ("Docker Desktop", "docker-desktop", "Engine;", "docker-desktop", "ok", "Docker Desktop: the set-up shopbox"),
    ("Rancher Desktop WSL Distribution", "rd", "Engine;", "rancher-desktop", "warn", "holds port 6443"),
    ("Alpine Linux v3.22", "lima-rancher-desktop", "Engine;", "rancher-desktop", "warn", "(its dockerd engine)"),
    ("Ubuntu 24.04.2 LTS", "colima", "Engine;", "colima", "warn", "default is 2 CPUs, 2 GiB"),
    ("Ubuntu 24.04.2 LTS", "colima-work", "Engine;", "colima", "warn", "Colima (Docker Engine in a Linux VM)"),
    ("fedora", "localhost.localdomain", "Podman Engine;Conmon;", "podman", "warn", "rootful"),
    ("Debian GNU/Linux 12 (bookworm)", "ci", "Engine;containerd;", "docker-engine", "ok", "what shopbox's CI runs"),
])
def test_what_the_engine_means_for_the_workshop_in_one_line(tmp_path, os_name, name, components, kind, status, words):
    env = engine(tmp_path, os_name=os_name, name=name, components=components)
    assert call("engine_kind", env).strip() == kind
    note_status, detail, fix = call(f"engine_note {kind}").strip().split("|")
    assert note_status == status and words in detail and "\n" not in detail
    assert (kind == "docker-engine" or "not run by shopbox's CI" in detail) and bool(fix) == (status == "warn")


def test_every_tool_checksum_is_pinned_or_verified_against_the_publishers_file():
    """An empty <TOOL>_SHA256_<ARCH> is allowed only for a tool whose publisher has a checksum file next to the
    download (install-tools.sh then verifies against it), and versions.env must say why it is not pinned."""
    pinned = versions()
    text = (ROOT / "versions.env").read_text()
    publishes_checksums = {"KUBECTL", "KIND", "COMPOSE", "BUILDX"}  # not DOCKER_CLI: no checksum for its tarballs
    keys = [key for key in pinned if "_SHA256_" in key]
    assert len(keys) == 10
    for key in keys:
        tool, arch = key.split("_SHA256_")
        assert arch in ("AMD64", "ARM64")
        if pinned[key]:
            assert re.fullmatch(r"[0-9a-f]{64}", pinned[key]), key
        else:
            assert tool in publishes_checksums, f"{key} is empty but {tool} publishes no checksum file"
            assert re.search(rf"{tool.capitalize()} {arch.lower()}.*not pinned", text, re.DOTALL), key
