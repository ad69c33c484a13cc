"""The pages of the day and what `lab` does with them: find a page or step, ask the checks where a participant
is, solve up to a step, reset to the start of a page. Every script runs through a ScriptRunner."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from exercises.lab.page import Page, Step, read
from exercises.lab.shell import Result, ScriptRunner

PAGE_FILE = re.compile(r"^(\d\d)-[\w-]+\.md$")
CHECK_TIMEOUT = 60.0
SOLVE_TIMEOUT = 600.0


class UsageError(ValueError):
    """A reference to a page or step that does not exist, or no pages at all (exit code 2)."""


def pages_dir(start: Path | None = None) -> Path:
    """`LAB_PAGES`, else the nearest `exercises/` with pages above the working directory, else this package's."""
    if os.environ.get("LAB_PAGES"):
        return Path(os.environ["LAB_PAGES"])
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if any(PAGE_FILE.match(p.name) for p in (directory / "exercises").glob("*.md")):
            return directory / "exercises"
    return Path(__file__).resolve().parents[1]


def load(directory: Path) -> list[Page]:
    """Every page in `directory`, by number."""
    pages = sorted((read(p) for p in directory.glob("*.md") if PAGE_FILE.match(p.name)), key=lambda p: p.number)
    if not pages:
        raise UsageError(f"{directory}: no exercise pages (NN-name.md); set LAB_PAGES or cd into the repository")
    return pages


def find(pages: list[Page], ref: str) -> tuple[Page, Step | None]:
    """The page (and step) `ref` names: `3`, `03`, `forge`, `3.2`."""
    name, _, step = ref.partition(".")
    matches = [p for p in pages if (name.isdigit() and int(name) == p.number) or p.path.stem.endswith(f"-{name}")]
    if not matches:
        known = ", ".join(f"{p.number} ({p.path.stem})" for p in pages)
        raise UsageError(f"no page {name!r}; pages: {known}")
    page = matches[0]
    if not step:
        return page, None
    if not step.isdigit() or not 1 <= int(step) <= len(page.steps):
        raise UsageError(f"page {page.number} has no step {step!r}; its steps are {page.number}.1 to "
                         f"{page.number}.{len(page.steps)} (`lab list {page.number}`)")
    return page, page.steps[int(step) - 1]


def passes(run: ScriptRunner, script_text: str) -> bool:
    return run(script_text, CHECK_TIMEOUT).code == 0


class Noted:
    """A ScriptRunner that also hears which step each check was for (exercises/lab/record.py keeps the tally):
    the scripts alone cannot say, two checks may have the same text."""

    def __init__(self, run: ScriptRunner, note: Callable[[str, bool], None]) -> None:
        self.run, self.note = run, note

    def __call__(self, script: str, timeout: float = CHECK_TIMEOUT) -> Result:
        return self.run(script, timeout)


def step_passes(run: ScriptRunner, step: Step) -> bool:
    ok = passes(run, step.check.text)
    if isinstance(run, Noted):
        run.note(step.id, ok)
    return ok


def page_passes(run: ScriptRunner, page: Page) -> bool:
    """The page's own check; passing, it counts as its last step reached."""
    ok = passes(run, page.check.text)
    if ok and isinstance(run, Noted):
        run.note(page.steps[-1].id, True)
    return ok


@dataclass(frozen=True)
class Progress:
    """Where a participant is on one page, from its checks."""

    page: Page
    done: bool  # the page's own check passes
    reached: int  # index of the last step whose check passes (0: none)

    @property
    def next_step(self) -> Step | None:
        if self.done:
            return None
        return self.page.steps[min(self.reached, len(self.page.steps) - 1)]


def progress(page: Page, run: ScriptRunner) -> Progress:
    """The page's check first; when it fails, the step checks from the last one back to the first that passes
    (a later step's check passing means the earlier ones are behind the participant)."""
    if page_passes(run, page):
        return Progress(page, True, len(page.steps))
    for step in reversed(page.steps):
        if step_passes(run, step):
            return Progress(page, False, step.index)
    return Progress(page, False, 0)


def latest_done(pages: list[Page], run: ScriptRunner) -> int:
    """How many pages are behind the participant: up to the last page whose check passes (a page's end state may
    be gone for good reasons once later pages ran: exercise 4 removes exercise 3's objects)."""
    for index in range(len(pages), 0, -1):
        if page_passes(run, pages[index - 1]):
            return index
    return 0


def current(pages: list[Page], run: ScriptRunner) -> Progress | None:
    """Where the participant is: the page after the latest one done (None: every page is done)."""
    done = latest_done(pages, run)
    return progress(pages[done], run) if done < len(pages) else None


Echo = Callable[[str], None]
Runnable = Callable[[Step], "str | None"]  # why a step's check or solve cannot run where we are (None: it can)


def everywhere(_: Step) -> str | None:
    return None


def solve(page: Page, upto: Step, run: ScriptRunner, echo: Echo, runnable: Runnable = everywhere) -> Result:
    """Run the solve of every step of `page` up to `upto` whose check fails, in order; each must then pass."""
    for step in page.steps[: upto.index]:
        if why := runnable(step):
            echo(f"{step.id} {step.title}: skipped here ({why})")
            continue
        if step_passes(run, step):
            echo(f"{step.id} {step.title}: done already")
            continue
        echo(f"{step.id} {step.title}: solving\n{step.solve.text.rstrip()}")
        done = run(step.solve.text, SOLVE_TIMEOUT)
        if done.code != 0:
            return Result(done.code, f"{step.id}: the solve failed (exit {done.code}):\n{done.output}")
        if done.output.strip():
            echo(done.output.rstrip())
        if not step_passes(run, step):
            return Result(1, f"{step.id}: solved, but its check still fails")
    return Result(0, "")


def reset(pages: list[Page], page: Page, run: ScriptRunner, echo: Echo, runnable: Runnable = everywhere) -> Result:
    """Undo this page and every later one (their reset scripts, last page first), then solve the pages before it
    that come after the latest one whose check passes: the state this page starts from, whatever the state was.
    (Only the latest: an earlier page's end state may be gone for good reasons; exercise 4 removes exercise 3's
    objects.)"""
    for later in reversed([p for p in pages if p.number >= page.number]):
        echo(f"page {later.number}: undoing it")
        done = run(later.reset.text, SOLVE_TIMEOUT)
        if done.code != 0:
            return Result(done.code, f"page {later.number}: its reset failed (exit {done.code}):\n{done.output}")
    earlier = pages[: pages.index(page)]
    done = latest_done(earlier, run)
    if done:
        echo(f"page {earlier[done - 1].number}: done")
    for missing in earlier[done:]:
        done = solve(missing, missing.steps[-1], run, echo, runnable)
        if done.code != 0:
            return done
        if not page_passes(run, missing):
            return Result(1, f"page {missing.number}: every step solved, but the page's check still fails")
    return Result(0, "")
