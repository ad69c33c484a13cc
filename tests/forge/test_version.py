"""Versions: stable for the same sources anywhere, sensitive to everything that goes into the image and nothing else."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from forge.config.descriptor import load_service
from forge.images.version import combined_version, container_version, context_files
from forge.manifests.sources import config_version, template_sources
from forge.plan import plan
from tests.forge.conftest import write_tree

pytestmark = pytest.mark.unit


def web_version(root: Path, args: dict[str, str] | None = None) -> str:
    (container,) = load_service(root / "web" / "service.yaml").containers
    return container_version(container, args or {"BASE_IMAGE": "base:1"})


def test_same_sources_same_version_anywhere(sample_workspace: Path, tmp_path: Path) -> None:
    first = web_version(sample_workspace)
    copy = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(sample_workspace, copy)
    os.utime(copy / "web" / "app" / "main.py", (1, 1))  # timestamps are not content
    assert web_version(copy) == first
    assert len(first) == 16 and int(first, 16) >= 0


def test_version_is_the_full_pipeline_value(sample_workspace: Path) -> None:
    (web,) = [b for b in plan(sample_workspace) if b.service.name == "web"]
    assert web.version == web_version(sample_workspace)
    assert web.images["Dockerfile"].ref == f"localhost:5001/web:{web.version}"


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "web" / "app" / "new_untracked.py").write_text("x = 1\n"),
        lambda root: (root / "web" / "app" / "main.py").write_text("print('changed')\n"),
        lambda root: (root / "web" / "Dockerfile").write_text("FROM other\n"),
        lambda root: (root / "web" / "app" / "main.py").rename(root / "web" / "app" / "renamed.py"),
        lambda root: os.chmod(root / "web" / "app" / "main.py", 0o755),
        lambda root: (root / "web" / ".dockerignore").write_text("k8s/\n"),
        lambda root: (root / "web" / "app" / "link").symlink_to("main.py"),
    ],
    ids=["untracked-file", "content", "dockerfile", "rename", "exec-bit", "dockerignore", "symlink"],
)
def test_changes_to_what_docker_gets_change_the_version(
    sample_workspace: Path, change: Callable[[Path], object]
) -> None:
    before = web_version(sample_workspace)
    change(sample_workspace)
    assert web_version(sample_workspace) != before


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "web" / "k8s" / "deployment.yaml").write_text("changed: true\n"),
        lambda root: (root / "web" / "k8s" / "extra.yaml").write_text("new: template\n"),
        lambda root: (root / "web" / "scratch.tmp").write_text("ignored by *.tmp\n"),
        lambda root: (root / "api" / "server").write_text("another service\n"),
        lambda root: os.chmod(root / "web" / "app" / "main.py", 0o600),  # not the exec bit: umask noise
    ],
    ids=["template", "new-template", "dockerignored", "other-service", "non-exec-mode"],
)
def test_changes_outside_the_image_keep_the_version(sample_workspace: Path, change: Callable[[Path], object]) -> None:
    before = web_version(sample_workspace)
    change(sample_workspace)
    assert web_version(sample_workspace) == before


def test_build_args_change_the_version(sample_workspace: Path) -> None:
    assert web_version(sample_workspace, {"BASE_IMAGE": "a:1"}) != web_version(sample_workspace, {"BASE_IMAGE": "b:2"})
    assert web_version(sample_workspace, {"A": "1", "B": "2"}) == web_version(sample_workspace, {"B": "2", "A": "1"})


def test_dockerignore_exceptions(tmp_path: Path) -> None:
    write_tree(
        tmp_path / "svc",
        {
            "service.yaml": "{}\n",
            "Dockerfile": "FROM a\n",
            ".dockerignore": "# comment\ndocs\n!docs/keep.md\n**/*.log\n/secret\n",
            "docs/skip.md": "",
            "docs/keep.md": "",
            "a/b/c.log": "",
            "secret": "",
            "src/secret": "",
            "src/app.py": "",
        },
    )
    (container,) = load_service(tmp_path / "svc" / "service.yaml").containers
    files = [f for f in context_files(container) if not (tmp_path / "svc" / f).is_dir()]
    assert files == [".dockerignore", "Dockerfile", "docs/keep.md", "service.yaml", "src/app.py", "src/secret"]
    before = container_version(container, {})
    (tmp_path / "svc" / "docs" / "skip.md").write_text("ignored\n")
    assert container_version(container, {}) == before
    (tmp_path / "svc" / "docs" / "keep.md").write_text("kept\n")
    assert container_version(container, {}) != before


def test_excluded_dockerfile_still_counts(tmp_path: Path) -> None:
    write_tree(tmp_path / "svc", {"service.yaml": "{}\n", "Dockerfile": "FROM a\n", ".dockerignore": "*\n"})
    (container,) = load_service(tmp_path / "svc" / "service.yaml").containers
    before = container_version(container, {})
    (tmp_path / "svc" / "Dockerfile").write_text("FROM b\n")
    assert container_version(container, {}) != before


def test_build_versions(sample_workspace: Path) -> None:
    builds = {b.service.name: b for b in plan(sample_workspace)}
    api = builds["api"]
    assert api.images["api"].version != api.images["api-worker"].version
    assert api.version == combined_version({"api": api.images["api"].version,
                                            "api-worker": api.images["api-worker"].version})
    assert api.version not in (api.images["api"].version, api.images["api-worker"].version)
    assert combined_version({"only": "abc"}) == "abc"
    db = builds["db"]
    assert db.images == {} and db.version == config_version(db.service)


def test_config_only_service_version_follows_templates_and_overrides(sample_workspace: Path) -> None:
    def db_version(overrides: dict | None = None) -> str:
        return config_version(load_service(sample_workspace / "db" / "service.yaml", overrides))

    before = db_version()
    assert db_version() == before
    assert db_version({"size": "2Gi"}) != before
    (sample_workspace / "db" / "k8s" / "config.yaml").write_text("changed\n")
    assert db_version() != before


def test_config_only_version_covers_templates_and_their_includes_not_a_readme(tmp_path: Path, clean_env: None) -> None:
    write_tree(tmp_path / "prom", {
        "service.yaml": "{}\n", "README.md": "notes\n", "rules.j2": "r: 1\n", "part.j2": "{% include 'deep.j2' %}",
        "deep.j2": "d: 1\n", "k8s/cm.yaml": "{% include 'rules.j2' %}{% include 'part.j2' %}\n",
    })

    def version() -> str:
        return config_version(load_service(tmp_path / "prom" / "service.yaml"))

    before = version()
    (tmp_path / "prom" / "README.md").write_text("more notes\n")
    assert version() == before
    for changed in ("rules.j2", "deep.j2", "k8s/cm.yaml"):
        (tmp_path / "prom" / changed).write_text((tmp_path / "prom" / changed).read_text() + "# edit\n")
        assert version() != before, changed
        before = version()
    (tmp_path / "prom" / "k8s" / "cm.yaml").write_text("{% include service.name ~ '.j2' %}\n")  # computed: all
    before = version()
    (tmp_path / "prom" / "README.md").write_text("even more notes\n")
    assert version() != before


def test_template_sources_see_every_spelling_of_a_tag_naming_a_file(tmp_path: Path, clean_env: None) -> None:
    """Only text with an include, import, from or extends tag is parsed for the files it names: each spelling of
    those tags (whitespace control, no space, a line break) is seen; the word alone names nothing."""
    write_tree(tmp_path / "svc", {
        "service.yaml": "{}\n", "i.j2": "", "m.j2": "", "f.j2": "{% macro x() %}{% endmacro %}", "base.j2": "",
        "unused.j2": "",
        "k8s/a.yaml": "{%- include 'i.j2' -%}\n{%+import 'm.j2' as m %}\n{%\nfrom 'f.j2' import x %}\n",
        "k8s/b.yaml": "{%extends 'base.j2'%}", "k8s/c.yaml": "{{ 'include' }} {% if true %}unused.j2{% endif %}\n",
    })
    assert template_sources(load_service(tmp_path / "svc" / "service.yaml")) == [
        "base.j2", "f.j2", "i.j2", "k8s/a.yaml", "k8s/b.yaml", "k8s/c.yaml", "m.j2"]
