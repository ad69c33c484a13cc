"""The one versions.env reader (versions_env, shared by forge, the slides and shopbox-setup): the repository's file,
and bad lines refused with the file and line named, exactly where shopbox.sh's bash reader refuses them; forge
turns that into its own one-line error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from forge.errors import ForgeError
from forge.manifests.validate import pinned_kubernetes_version
from tests.shopbox.offline_image import ROOT, SHOPBOX_SH
from versions_env import REPOSITORY_FILE, VersionsError, read_versions

pytestmark = pytest.mark.unit

GOOD = "# pins\n\n  # indented comment\nKIND_VERSION=0.32.0\nREGISTRY_PIN=registry:2.8.3@sha256:ab=cd\nEMPTY=\n"


def bash_reader(path: Path) -> subprocess.CompletedProcess[str]:
    """shopbox.sh's load_versions on `path` (sourced: its main does not run)."""
    script = 'source "$1"; VERSIONS_FILE=$2; REQUIRED_KEYS=""; load_versions; for k in $VERSION_KEYS; do ' \
             'printf "%s=%s\\n" "$k" "${!k}"; done'
    return subprocess.run(["bash", "-c", script, "test", str(SHOPBOX_SH), str(path)], capture_output=True, text=True,
                          timeout=60, check=False)


def test_the_repository_file() -> None:
    assert REPOSITORY_FILE == ROOT / "versions.env"
    pinned = read_versions()
    assert {"KUBERNETES_VERSION", "KIND_VERSION", "PYTHON_BASE_IMAGE", "ENVOY_IMAGE"} <= pinned.keys()


def test_keys_and_values_as_bash_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "versions.env"
    path.write_text(GOOD)
    assert read_versions(path) == {"KIND_VERSION": "0.32.0", "REGISTRY_PIN": "registry:2.8.3@sha256:ab=cd", "EMPTY": ""}
    bash = bash_reader(path)
    assert bash.returncode == 0, bash.stderr
    assert dict(line.split("=", 1) for line in bash.stdout.splitlines()) == read_versions(path)


@pytest.mark.parametrize("line", ["kubectl version = 1.2", "KEY='quoted'", 'KEY="quoted"', "export KEY=1",
                                  "lower=1", "KEY=a b", "KEY = 1", "just words"])
def test_a_bad_line_is_named_as_bash_names_it(tmp_path: Path, line: str) -> None:
    path = tmp_path / "versions.env"
    path.write_text(GOOD + line + "\n")
    number = len(GOOD.splitlines()) + 1
    with pytest.raises(VersionsError) as caught:
        read_versions(path)
    assert str(caught.value) == (f"{path}:{number}: expected KEY=value (upper-case KEY; value without spaces or "
                                 f"quotes), got: {line}")
    bash = bash_reader(path)
    assert bash.returncode == 1
    assert bash.stderr == f"shopbox: error: {caught.value}\n"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(VersionsError, match=rf"^{tmp_path}/nope.env: cannot read: No such file or directory$"):
        read_versions(tmp_path / "nope.env")


def test_forge_names_a_bad_line_in_its_own_error(tmp_path: Path) -> None:
    (tmp_path / "versions.env").write_text("KUBERNETES_VERSION=1.36.1\nkind = 0.32\n")
    with pytest.raises(ForgeError, match=rf"^{tmp_path}/versions.env:2: expected KEY=value"):
        pinned_kubernetes_version(tmp_path / "svc")


def test_the_reader_imports_nothing_of_forge() -> None:
    code = "import sys, versions_env; print(sorted(m for m in sys.modules if m.split('.')[0] == 'forge'))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          check=True).stdout.strip() == "[]"
