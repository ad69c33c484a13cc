"""forge/ARCHITECTURE.md stays true to the tree: its layer table is the one the layer check enforces (LAYERS in
tests/forge/import_graph.py), and every file or directory its "to change X, edit Y, test it with Z" table names
exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.forge import import_graph

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "forge" / "ARCHITECTURE.md"
PATH = re.compile(r"[\w.*/-]+(/|\.(py|md|sh|env|in|toml|yaml))|Dockerfile|bashrc")


def _rows(heading: str) -> list[list[str]]:
    """The body rows of the first table after `heading`, as lists of cells."""
    lines = PAGE.read_text(encoding="utf-8").split(f"\n{heading}\n", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[start + 2:end]]


def named_paths(cell: str) -> list[str]:
    """The paths a cell names in backquotes, as globs from the repository's root: a bare file name is taken in the
    folder of the path before it when it is there (`tests/forge/test_plan.py`, `test_cli_targets.py`); NAME and NN
    stand for any name."""
    found: list[str] = []
    folder = ""
    for quoted in re.findall(r"`([^`]+)`", cell):
        if not PATH.fullmatch(quoted):
            continue
        path = quoted.replace("NAME", "*").replace("NN", "*")
        if "/" not in path.rstrip("/") and not path.endswith("/") and any(ROOT.glob(folder + path)):
            path = folder + path
        folder = path if path.endswith("/") else path.rpartition("/")[0] + "/" if "/" in path else ""
        found.append(path)
    return found


def test_named_paths_reads_bare_names_in_the_folder_before_them() -> None:
    assert named_paths("`tests/forge/test_plan.py`, `test_cli_targets.py` (unit); `make bench`, `-o json`") == [
        "tests/forge/test_plan.py", "tests/forge/test_cli_targets.py"]
    assert named_paths("`classroom/` (`cli.py`), `forge/commands/NAME.py`, `shopbox.sh`") == [
        "classroom/", "classroom/cli.py", "forge/commands/*.py", "shopbox.sh"]


def test_every_path_the_change_table_names_exists() -> None:
    rows = _rows("## To change X, edit Y, test it with Z")
    assert len(rows) > 30
    missing = [(row[0], path) for row in rows for cell in row[1:] for path in named_paths(cell)
               if not any(ROOT.glob(path.rstrip("/")))]
    # a service's requirements.in: every Python service has one, none at the root
    assert missing == [("a Python dependency", "requirements.in")]


def test_the_layer_table_is_the_layer_check() -> None:
    table = [tuple("forge." + name.rstrip("/") for name in re.findall(r"`([^`]+)`", row[1]))
             for row in _rows("## The layers")]
    enforced = [tuple(prefix for prefix in prefixes if prefix != "forge") for _, prefixes in import_graph.LAYERS]
    assert table == enforced
