"""Replaying a page as a participant would: every `$ ` line in page order in one shell session, each step's
check failing before the step and passing after it, and each output the page shows matching what the command
printed (exercises/lab/outputs.py).

Where it runs is two callables: a Session (lines) and a ScriptRunner (checks), plus `can_run`, which says why a
command cannot run on this platform (None: it can). On the workshop's real cluster everything runs; on the
local control plane (pods simulated, nothing listening) the lines that need running containers are skipped and
reported, and a step with a skipped line does not assert its check afterwards."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from exercises.lab import course
from exercises.lab.outputs import drift
from exercises.lab.page import Line, Page, Step
from exercises.lab.shell import Result, ScriptRunner
from exercises.lab.words import script_commands

CanRun = Callable[[str], "str | None"]
LINE_TIMEOUT = 600.0
CHECK_SETTLE = 20.0  # a check may lag its step by a little (controllers, endpoints): poll this long


class ReplayError(AssertionError):
    """A line failed, or a check said the wrong thing; the message names page, line and output."""


class LineRunner(Protocol):
    """What a replay needs from a shell session (shell.Session)."""

    def run(self, line: str, timeout: float = ...) -> Result: ...


@dataclass
class PageReport:
    page: Page
    seconds: float = 0.0
    as_written: int = 0  # lines run exactly as the page shows them
    replaced: int = 0  # exempt lines whose written equivalent ran
    skipped: list[tuple[Line, str]] = field(default_factory=list)  # (line, why not here)
    unchecked: list[tuple[Step, str]] = field(default_factory=list)  # steps whose check could not be asserted
    printed: dict[str, list[str]] = field(default_factory=dict)  # what lines with a shown output printed, by command
    drifted: list[str] = field(default_factory=list)  # where a shown output is not what the command printed, a diff

    @property
    def total(self) -> int:
        return len(self.page.lines)

    @property
    def executed(self) -> int:
        return self.as_written + self.replaced

    def summary(self) -> str:
        share = 100 * self.executed / self.total if self.total else 100.0
        return (f"page {self.page.number} ({self.page.path.name}): {self.executed}/{self.total} lines executed "
                f"({share:.0f} %; {self.replaced} through their written equivalent), "
                f"{len(self.skipped)} need the real cluster, {self.seconds:.0f} s")


def script_reason(text: str, can_run: CanRun) -> str | None:
    """Why a check/solve script cannot run here (its first command that cannot), or None."""
    for command in script_commands(text):
        if why := can_run(command):
            return why
    return None


def _passes(run: ScriptRunner, step: Step, within: float) -> bool:
    deadline = time.monotonic() + within
    while True:
        if run(step.check.text, 60).code == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(1)


def replay(page: Page, session: LineRunner, run: ScriptRunner, can_run: CanRun,
           log: Callable[[str], None] = lambda _: None) -> PageReport:
    """Replay `page` from its start state; raises ReplayError at the first failing line or wrong check. An output
    that differs from the page's is noted in the report (`drifted`), for the caller to fail on."""
    report = PageReport(page)
    started = time.monotonic()
    for step in page.steps:
        check_blocked = script_reason(step.check.text, can_run)
        if check_blocked is None and _passes(run, step, 0):
            raise ReplayError(f"{page.path.name}:{step.check.number}: step {step.id}'s check passes before the step")
        skipped_here = False
        for line in step.lines:
            reasons = [why for command in line.replayed if (why := can_run(command))]
            if reasons:
                report.skipped.append((line, reasons[0]))
                skipped_here = True
                log(f"  skip {page.path.name}:{line.number}: {line.command}  ({reasons[0]})")
                continue
            printed = ""
            for command in line.replayed:
                log(f"  $ {command}")
                done = session.run(command, LINE_TIMEOUT)
                if done.code != 0:
                    raise ReplayError(f"{page.path.name}:{line.number}: `{command}` exited {done.code}\n{done.output}")
                printed += done.output
            if line.shown:  # a wrong output changes nothing the next lines need: noted, the replay goes on
                report.printed.setdefault(line.command, []).append(printed)
                if differs := drift(line.shown, printed):
                    report.drifted.append(f"{page.path.name}:{line.number}: `{line.command}` printed what the page "
                                          f"does not show (volatile fields masked):\n{differs}")
            if line.exempt:
                report.replaced += 1
            else:
                report.as_written += 1
        if check_blocked:
            report.unchecked.append((step, f"its check: {check_blocked}"))
        elif skipped_here:
            report.unchecked.append((step, "some of its lines need the real cluster"))
        elif not _passes(run, step, CHECK_SETTLE):
            output = run(step.check.text, 60).output
            raise ReplayError(f"{page.path.name}:{step.check.number}: step {step.id}'s check fails after the step\n"
                              f"{output}")
    report.seconds = time.monotonic() - started
    return report


def step_blocked(can_run: CanRun) -> course.Runnable:
    """For `lab reset`/`lab solve` on this platform: why a step's solve or check cannot run here."""
    return lambda step: script_reason(step.solve.text, can_run) or script_reason(step.check.text, can_run)


def reset_and_replay(pages: list[Page], start: Page, run: ScriptRunner,
                     session: Callable[[], AbstractContextManager[LineRunner]], can_run: CanRun,
                     log: Callable[[str], None] = lambda _: None,
                     last: Page | None = None) -> tuple[float, list[PageReport]]:
    """`lab reset START`, then every page from START to LAST (default: the last), each in a fresh session (a new
    terminal); the reset's seconds and the page reports. Raises ReplayError when the reset or a page fails."""
    started = time.monotonic()
    done = course.reset(pages, start, run, log, step_blocked(can_run))
    if done.code != 0:
        raise ReplayError(f"lab reset {start.number} failed: {done.output}")
    reset_seconds = time.monotonic() - started
    reports = []
    for page in pages[pages.index(start) : pages.index(last or pages[-1]) + 1]:
        with session() as shell:
            reports.append(replay(page, shell, run, can_run, log))
    return reset_seconds, reports


def summary(reports: list[PageReport], skipped: bool) -> list[str]:
    """Per page its counts and time, the total, and (with `skipped`) every line and check that did not run."""
    lines = [report.summary() for report in reports]
    executed, total = sum(r.executed for r in reports), sum(r.total for r in reports)
    lines.append(f"pages {reports[0].page.number}-{reports[-1].page.number}: {executed}/{total} lines executed "
                 f"({100 * executed / total:.0f} %)")
    lines += [drifted for report in reports for drifted in report.drifted]
    for report in reports if skipped else []:
        lines += [f"  needs the real cluster: {report.page.path.name}:{line.number}: {line.command}  ({why})"
                  for line, why in report.skipped]
        lines += [f"  check not asserted here: step {step.id} {step.title} ({why})" for step, why in report.unchecked]
    return lines
