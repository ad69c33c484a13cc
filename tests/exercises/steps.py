"""The `$ ` commands of any Markdown, for tests that read Markdown other than the exercise pages (the slide
deck's commands must be page steps or parse with the real CLIs). The pages themselves are parsed by
exercises/lab/page.py, which this uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from exercises.lab.page import PageError, shell_lines
from exercises.lab.words import simple_commands

__all__ = ["Step", "extract", "read", "simple_commands"]


@dataclass(frozen=True)
class Step:
    """One command as the participant types it."""

    command: str
    line: int  # 1-based line of its `$ `


def extract(text: str) -> list[Step]:
    """Every `$ ` command of the text's bash blocks, in order (an exempt line as written, not its replacement)."""
    return [Step(line.command, line.number) for line in shell_lines(text)]


def read(path: Path) -> list[Step]:
    try:
        return extract(path.read_text(encoding="utf-8"))
    except PageError as err:
        raise PageError(f"{path}:{err}".replace(":line ", ":", 1)) from None
