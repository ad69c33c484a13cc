"""Commands on slides are commands the workshop runs: each `$ ` line of the deck is a step of an exercise page
(where the page's tests run or parse it), or consists of forge and ./shopbox.sh calls their real CLIs accept."""

from __future__ import annotations

from pathlib import Path

import pytest

from slides.build import DEFAULT_OUT, assemble_deck
from tests.exercises import steps
from tests.exercises import test_page_commands as pages

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CHECKED = {"forge": pages.forge_error, "./shopbox.sh": pages.shopbox_error}


def slide_steps() -> list[steps.Step]:
    return steps.extract(assemble_deck(DEFAULT_OUT).markdown)


def page_commands() -> set[str]:
    return {step.command for page in pages.PAGES for step in steps.read(pages.EXERCISES / page)}


def problem(command: str, on_pages: set[str]) -> str | None:
    if command in on_pages:
        return None
    calls = steps.simple_commands(command)
    unchecked = [words[0] for words in calls if words[0] not in CHECKED]
    if unchecked:
        return f"not a step of an exercise page, and {unchecked[0]} is not checked here"
    return next((f"{err}" for words in calls if (err := CHECKED[words[0]](words[1:]))), None)


def test_every_command_on_a_slide_is_run_or_parsed() -> None:
    commands = slide_steps()
    assert len(commands) >= 12
    on_pages = page_commands()
    bad = [f"{step.command!r}: {err}" for step in commands if (err := problem(step.command, on_pages))]
    assert not bad, "\n".join(bad)


def test_the_check_catches_a_command_no_page_runs() -> None:
    assert problem("kubectl delete namespace everything", page_commands()) is not None
    assert problem("forge deploy qotm --no-such-flag", set()) is not None
    assert problem("forge canary promote qotm", set()) is None
