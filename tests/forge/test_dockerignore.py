"""forge's .dockerignore matcher against the Docker SDK's own exclude_paths: the same paths for every pattern set.

The SDK decides what a build sends; forge's copy of its rules decides the version. If they ever differ, the tag
no longer describes the image, so each case compares both on the same tree.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from docker.utils.build import exclude_paths

from forge.images.dockerignore import included_paths
from tests.forge.conftest import write_tree

# The SDK compiles "[[]" into a regex that Python warns about; forge's own matcher does not.
pytestmark = [pytest.mark.unit, pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")]

TREE = [
    "Dockerfile", "Dockerfile.prod", "README.md", "readme.MD", "app.py", "app.pyc", "src/main.py", "src/main.pyc",
    "src/pkg/util.py", "src/pkg/deep/x.log", "docs/keep.md", "docs/skip.md", "docs/sub/a.md", "logs/a.log",
    "logs/b.txt", "k8s/deployment.yaml", "secret", "src/secret", ".env", ".git/HEAD", "data/[weird].txt",
    "data/a?b", "tests/test_app.py", "build/out.bin", "node_modules/x/index.js", "dir with space/f",
]

CASES = {
    "none": [],
    "dirs-and-globs": ["k8s/", "*.pyc", "**/*.log", "docs"],
    "negation": ["docs", "!docs/keep.md", "*.md", "!README.md"],
    "negation-inside-excluded-dir": ["src", "!src/pkg/util.py"],
    "everything-but": ["*", "!src", "!Dockerfile.prod"],
    "anchors-and-dots": ["/secret", "./logs/*.txt", "src/../app.py", "a/../../README.md", "."],
    "double-star": ["**", "!**/*.py"],
    "double-star-middle": ["src/**/x.log", "**/node_modules"],
    "case": ["readme.md", "DOCS"],
    "char-classes": ["data/[[]weird].txt", "data/a?b", "[!a-s]*.py", "[]]x", "[a-"],
    "trailing-space-and-bang-space": ["build/ ", "! build/out.bin", "dir with space"],
    "dockerfile-and-dockerignore-always-sent": ["Dockerfile", ".dockerignore", ".*"],
    "tests-dir-reinclude": ["tests", "!tests/"],
}


@pytest.mark.parametrize("patterns", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.prod"])
def test_same_paths_as_the_docker_sdk(tmp_path: Path, patterns: list[str], dockerfile: str) -> None:
    write_tree(tmp_path, {name: f"{name}\n" for name in TREE})
    (tmp_path / ".dockerignore").write_text("# patterns\n" + "\n".join(patterns) + "\n")
    (tmp_path / "link-to-src").symlink_to("src")
    sdk = exclude_paths(str(tmp_path), [p.strip() for p in patterns if p.strip()], dockerfile=dockerfile)
    assert included_paths(str(tmp_path), dockerfile) == set(sdk)
