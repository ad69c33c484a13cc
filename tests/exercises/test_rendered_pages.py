"""What a participant reads: each exercise page rendered as a Markdown viewer renders it (CommonMark, HTML comments
passed through and hidden by the browser) shows the steps, never `lab`'s machinery: no check, solve or reset
script and no replay command is visible text."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from exercises.lab.page import Page, read

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "exercises").glob("0*.md"))


class VisibleText(HTMLParser):
    """The text a browser shows: everything but comments (and the tags themselves)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_lines(markdown: str) -> set[str]:
    parser = VisibleText()
    parser.feed(MarkdownIt("commonmark").render(markdown))
    parser.close()
    return {line.strip() for line in "".join(parser.parts).splitlines() if line.strip()}


def machinery(page: Page) -> dict[str, str]:
    """Every line lab runs that the participant does not type, with where it comes from."""
    scripts = {"reset": page.reset, "the page's check": page.check}
    scripts |= {f"{step.id} {kind}": getattr(step, kind) for step in page.steps for kind in ("check", "solve")}
    found = {line.strip(): what for what, script in scripts.items() for line in script.text.splitlines()}
    found |= {command.strip(): f"the replay of line {line.number}" for line in page.lines for command in line.instead}
    return {line: what for line, what in found.items() if line and not line.startswith("#")}


def shown(path: Path) -> list[str]:
    page = read(path)
    text = path.read_text(encoding="utf-8")
    typed = {line.command for line in page.lines}  # the same command as a `$ ` line is the participant's own
    lines = visible_lines(text)
    return sorted(f"{what}: {line}" for line, what in machinery(page).items() if line in lines and line not in typed)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_a_rendered_page_shows_no_check_solve_reset_or_replay_code(path: Path) -> None:
    page = read(path)
    assert machinery(page), "nothing to hide: the page has no scripts"
    assert not shown(path), "\n".join(shown(path))


def test_the_check_sees_a_script_in_plain_sight(tmp_path: Path) -> None:
    """The same page with its first check moved out of its comment, into a code block a reader sees."""
    source = PAGES[2]
    text = source.read_text(encoding="utf-8")
    page = read(source)
    first = page.steps[0].check.text
    copy = tmp_path / source.name
    copy.write_text(text.replace("## Check\n", f"## Check\n\n```console\n{first}```\n", 1), encoding="utf-8")
    assert any(line.startswith("3.1 check: ") for line in shown(copy)), shown(copy)
