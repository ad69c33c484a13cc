"""Discovery: which service.yaml files forge finds under a path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from forge.config.discover import discover
from tests.forge.conftest import as_unprivileged, write_tree

pytestmark = pytest.mark.unit


def found(path: Path, root: Path) -> list[str]:
    return [p.parent.relative_to(root).as_posix() for p in discover(path, root).services]


def test_finds_every_service_sorted(sample_workspace: Path) -> None:
    assert found(sample_workspace, sample_workspace) == ["api", "db", "web"]


def test_a_service_directory_with_the_services_nested_in_it(sample_workspace: Path) -> None:
    write_tree(sample_workspace / "web" / "nested", {"service.yaml": "name: nested\n"})
    assert found(sample_workspace / "web", sample_workspace) == ["web", "web/nested"]
    assert found(sample_workspace / "web" / "service.yaml", sample_workspace) == ["web"]  # that file: that one


def test_nested_services_are_found_from_above(sample_workspace: Path) -> None:
    write_tree(sample_workspace, {"group/one/service.yaml": "{}\n", "group/two/service.yaml": "{}\n"})
    assert found(sample_workspace / "group", sample_workspace) == ["group/one", "group/two"]


@pytest.mark.parametrize(
    "files",
    [
        {".gitignore": "old/\n"},
        {".forgeignore": "old\n"},
        {"old/.gitignore": "*\n"},  # a directory that ignores itself
        {".gitignore": "/old/service.yaml\n"},
    ],
    ids=["gitignore-dir", "forgeignore", "nested-gitignore", "gitignore-file"],
)
def test_ignore_files_are_honoured(sample_workspace: Path, files: dict[str, str]) -> None:
    write_tree(sample_workspace, {"old/service.yaml": "name: old\n", **files})
    assert found(sample_workspace, sample_workspace) == ["api", "db", "web"]


def test_gitignore_negation_and_deeper_files_take_precedence(sample_workspace: Path) -> None:
    write_tree(
        sample_workspace,
        {
            ".gitignore": "x/\nsvc-*/\n!svc-keep/\n",
            "svc-a/service.yaml": "{}\n",
            "svc-keep/service.yaml": "{}\n",
            "keep/.gitignore": "!x/\n",
            "keep/x/service.yaml": "{}\n",
            "other/x/service.yaml": "{}\n",
        },
    )
    assert found(sample_workspace, sample_workspace) == ["api", "db", "keep/x", "svc-keep", "web"]


def test_ignore_rules_above_the_start_path_apply(sample_workspace: Path) -> None:
    write_tree(sample_workspace, {".gitignore": "generated/\n", "apps/generated/service.yaml": "{}\n",
                                  "apps/real/service.yaml": "{}\n"})
    assert found(sample_workspace / "apps", sample_workspace) == ["apps/real"]


@pytest.mark.parametrize(
    "directory",
    [".git/hooks", "venv", "node_modules/pkg", "build/x", "dist", "__pycache__", "pkg.egg-info", ".tox/py"],
)
def test_skips_vcs_virtualenvs_dependencies_and_build_output(sample_workspace: Path, directory: str) -> None:
    write_tree(sample_workspace, {f"{directory}/service.yaml": "{}\n"})
    if directory == "venv":
        write_tree(sample_workspace, {"venv/pyvenv.cfg": "home = /usr\n"})
    assert found(sample_workspace, sample_workspace) == ["api", "db", "web"]


def test_a_virtualenv_with_any_name_is_skipped(sample_workspace: Path) -> None:
    write_tree(sample_workspace, {"env311/pyvenv.cfg": "", "env311/lib/service.yaml": "{}\n"})
    assert found(sample_workspace, sample_workspace) == ["api", "db", "web"]


def test_service_yaml_that_is_a_kubernetes_object_is_skipped(sample_workspace: Path) -> None:
    write_tree(
        sample_workspace,
        {
            "web/k8s/service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ build.name }}\n",
            "plain/service.yaml": "kind: Service\napiVersion: v1\nmetadata: {name: plain}\n",
        },
    )
    assert found(sample_workspace, sample_workspace) == ["api", "db", "web"]
    assert discover(sample_workspace / "plain", sample_workspace).services == []


def test_a_service_may_use_kind_as_a_plain_field(sample_workspace: Path) -> None:
    write_tree(sample_workspace, {"shop/service.yaml": "kind: storefront\n"})
    assert "shop" in found(sample_workspace, sample_workspace)


@pytest.mark.parametrize("ignored", [False, True], ids=["plain", "gitignored"])
def test_an_unreadable_directory_does_not_stop_discovery(sample_workspace: Path, ignored: bool) -> None:
    """A database volume owned by another user: skipped (with a note unless ignored), the services are found."""
    volume = sample_workspace / "pgdata"
    volume.mkdir(mode=0o000)
    if ignored:
        (sample_workspace / ".gitignore").write_text("pgdata/\n")
    try:
        result = subprocess.run(as_unprivileged([sys.executable, "-m", "forge", "render", "-o", "out"]),
                                cwd=sample_workspace, capture_output=True, text=True, timeout=120)
    finally:
        volume.chmod(0o755)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes == ([] if ignored else ["note: skipped pgdata: cannot read it (Permission denied)"])
    assert sorted(p.name for p in (sample_workspace / "out").iterdir()) == ["api", "db", "web"]


def test_an_unreadable_directory_in_a_build_context_is_named(sample_workspace: Path) -> None:
    """The image would need it: an error naming that directory (relative, no errno), nothing rendered."""
    volume = sample_workspace / "web" / "app" / "cache"
    volume.mkdir(mode=0o000)
    try:
        result = subprocess.run(as_unprivileged([sys.executable, "-m", "forge", "render", "web"]),
                                cwd=sample_workspace, capture_output=True, text=True, timeout=120)
    finally:
        volume.chmod(0o755)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines()[-1] == ("error: web/app/cache: cannot read it (build context of "
                                              "web/Dockerfile): Permission denied")
