"""The real deck against the real repository: code shown = code run, labs show their pages' steps."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from slides.build import DEFAULT_OUT, assemble_deck
from slides.deck import DeckError, forge_render, split_slides
from slides.includes import DIRECTIVE, code_block, parse_include, read_source, region

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FRAGMENTS = sorted((ROOT / "slides" / "deck").glob("*.md"))


def directives(kind: str) -> list[tuple[int, Path, int, str]]:
    """(slide number, fragment, line, arguments) of every `kind` directive of the deck, in deck order."""
    found, number = [], 0
    for fragment in FRAGMENTS:
        for line, text in split_slides(fragment.read_text(encoding="utf-8")):
            number += 1
            for offset, row in enumerate(text.splitlines()):
                match = DIRECTIVE.match(row.strip())
                if match and match[1] == kind:
                    found.append((number, fragment, line + offset, match[2]))
    return found


def test_deck_size_and_timings() -> None:
    deck = assemble_deck(DEFAULT_OUT)
    assert 60 <= deck.slides <= 95
    assert deck.minutes > deck.slides  # every slide has its timing; labs take far longer than a minute


def test_every_include_shows_the_files_current_text() -> None:
    markdown = assemble_deck(DEFAULT_OUT).markdown
    includes = [parse_include(arguments) for _, _, _, arguments in directives("include")]
    assert len(includes) >= 10
    for include in includes:
        body = textwrap.dedent(region(read_source(ROOT, include.path), include))
        assert code_block(include, body) in markdown, include


def test_every_render_shows_what_forge_renders_now() -> None:
    markdown = assemble_deck(DEFAULT_OUT).markdown
    renders = [parse_include(arguments) for _, _, _, arguments in directives("render")]
    assert len(renders) >= 5
    rendered = {path: forge_render(ROOT, path) for path in {include.path for include in renders}}
    for include in renders:
        body = textwrap.dedent(region(rendered[include.path], include))
        assert code_block(replace(include, lang="yaml"), body) in markdown, include


def test_every_exercise_page_has_a_lab_slide() -> None:
    pages = {arguments.strip() for _, _, _, arguments in directives("steps")}
    assert pages == {f"exercises/{page.name}" for page in (ROOT / "exercises").glob("0*.md")}


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The repository's sources, without virtualenvs, node_modules, build outputs and git."""
    ignore = shutil.ignore_patterns(".git", ".venv", "node_modules", "build", "__pycache__", "*.egg-info")
    shutil.copytree(ROOT, tmp_path / "repo", ignore=ignore)
    return tmp_path / "repo"


def test_a_changed_file_changes_the_slide(repo_copy: Path) -> None:
    service = repo_copy / "envoy-canary" / "envoy" / "service.yaml"
    text = service.read_text()
    assert "timeouts: {connect: 1s" in text and "consecutive_5xx: 5," in text
    text = text.replace("timeouts: {connect: 1s", "timeouts: {connect: 7s")
    service.write_text(text.replace("consecutive_5xx: 5,", "consecutive_5xx: 9,"))
    markdown = assemble_deck(repo_copy / "slides" / "build", root=repo_copy).markdown
    assert "timeouts: {connect: 7s" in markdown and "timeouts: {connect: 1s" not in markdown  # included
    assert "consecutive_5xx: 9\n" in markdown and "consecutive_5xx: 5\n" not in markdown  # rendered by forge


def test_a_deleted_marker_fails_naming_slide_and_file(repo_copy: Path) -> None:
    number, fragment, line, arguments = next(d for d in directives("include") if "from=" in d[3])
    include = parse_include(arguments)
    source = repo_copy / include.path
    source.write_text(source.read_text().replace(include.start, "(marker removed)"))
    with pytest.raises(DeckError) as err:
        assemble_deck(repo_copy / "slides" / "build", root=repo_copy)
    where = f"slide {number} ({fragment.relative_to(ROOT)}:{line})"
    assert str(err.value) == f"{where}: {include.path}: marker from={include.start!r} not found"


def test_the_build_command_stops_with_one_line_and_writes_nothing(repo_copy: Path) -> None:
    number, fragment, line, arguments = next(d for d in directives("include") if "from=" in d[3])
    include = parse_include(arguments)
    source = repo_copy / include.path
    source.write_text(source.read_text().replace(include.start, "(marker removed)"))
    result = subprocess.run([sys.executable, "-m", "slides", "build"], cwd=repo_copy, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"slides: error: slide {number} ({fragment.relative_to(ROOT)}:{line}): {include.path}: "
        f"marker from={include.start!r} not found"]
    assert not (repo_copy / "slides" / "build").exists()
