"""tests/platform/install.sh where it cannot install: it names what is missing, exits 1 and changes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"docker.io", "docker-registry", "prometheus", "debootstrap", "shellcheck", "git", "iproute2", "curl"}


DECK_PACKAGES = {"graphviz", "chromium", "npm"}  # slides/: diagrams, PDF and browser test, the Marp CLI
MESH_PACKAGES = {"postgresql"}  # tests/mesh/: a throw-away PostgreSQL server for usersvc
PAGE_PACKAGES = {"gettext-base"}  # exercise 3's envsubst, replayed on the local control plane
ARM64_PACKAGES = {"qemu-user-static"}  # tests/arm64/: arm64 images under emulation


def run_install(tmp_path: Path, uid: int) -> subprocess.CompletedProcess[str]:
    """Run install.sh with a PATH holding only bash, dirname and an `id` that answers `uid`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    fake_id = bin_dir / "id"
    fake_id.write_text(f"#!{shutil.which('bash')}\necho {uid}\n")
    fake_id.chmod(0o755)
    env = {"PATH": str(bin_dir), "SHOPBOX_VENV": str(tmp_path / "venv"), "HOME": str(tmp_path)}
    return subprocess.run([str(bin_dir / "bash"), str(ROOT / "tests/platform/install.sh")], env=env,
                          capture_output=True, text=True, timeout=30)


def test_not_root_lists_what_is_missing_and_installs_nothing(tmp_path: Path) -> None:
    result = run_install(tmp_path, uid=1000)
    assert result.returncode == 1
    prefix = "install.sh: cannot install here (needs root on Debian); missing packages: "
    (line,) = result.stderr.splitlines()
    assert line.startswith(prefix)
    expected = PACKAGES | DECK_PACKAGES | MESH_PACKAGES | PAGE_PACKAGES | ARM64_PACKAGES
    assert set(line.removeprefix(prefix).split()) == expected
    assert not (tmp_path / "venv").exists()
    assert result.stdout == ""


def test_root_without_apt_is_refused_too(tmp_path: Path) -> None:
    # PATH has no apt-get: the same one-line refusal, not an attempt to install.
    assert os.path.exists("/etc/debian_version")
    result = run_install(tmp_path, uid=0)
    assert result.returncode == 1
    assert result.stderr.startswith("install.sh: cannot install here (needs root on Debian); missing packages: ")
    assert not (tmp_path / "venv").exists()
