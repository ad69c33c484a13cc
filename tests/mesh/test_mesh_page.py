"""The mesh lab's exercise page (exercises/09-mesh.md): the page format lab reads, a check, hint and solve per
step, every forge call parses with forge's own CLI, every script and the lines pass shellcheck. The workshop tier
replays it on the kind cluster (tests/workshop/test_workshop_pages.py); the local control plane's replay stops
before it (tests/exercises/test_pages_replay.py: it needs real pods)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exercises.lab import course
from exercises.lab.page import read
from exercises.lab.words import program_calls
from tests.exercises import test_page_commands
from tests.exercises.test_page_commands import SAMPLE_VALUE, SHELL_VARIABLE, forge_error

pytestmark = pytest.mark.unit

PAGE = Path(__file__).resolve().parents[2] / "exercises" / "09-mesh.md"


def test_lab_reads_the_page_with_a_check_hint_and_solve_per_step() -> None:
    page = next(p for p in course.load(PAGE.parent) if p.path == PAGE)
    assert page.number == 9 and len(page.steps) >= 5
    for step in page.steps:
        assert step.check.text.strip() and step.solve.text.strip() and step.hint, step
    assert page.check.text.strip() and page.reset.text.strip()


def test_every_forge_call_on_the_page_parses() -> None:
    page = read(PAGE)
    commands = [command for line in page.lines for command in (line.command, *line.instead)]
    scripts = [page.reset, page.check, *(s for step in page.steps for s in (step.check, step.solve))]
    commands += [text for script in scripts for text in script.text.splitlines() if text.strip()]
    calls = program_calls(commands, "forge")
    assert {tuple(args[:2]) for _, args in calls} >= {("deploy", "usersvc"), ("deploy", "eds")}
    bad = [f"{command!r}: {err}" for command, args in calls
           if (err := forge_error([SAMPLE_VALUE if SHELL_VARIABLE.fullmatch(a) else a for a in args]))]
    assert not bad, "\n".join(bad)


def test_every_script_and_line_passes_shellcheck() -> None:
    test_page_commands.test_every_script_and_line_passes_shellcheck(PAGE.name)
