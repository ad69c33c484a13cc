"""`lab`: where am I in the exercises, is this step done, what next. Exit codes: 0 done/ok, 1 not done or a
solve/reset failed, 2 usage error (unknown page or step, malformed page)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from exercises.lab import course, record
from exercises.lab.page import Page, PageError, Step
from exercises.lab.shell import Bash, ScriptRunner

COLOURS = {"ok": "32", "fail": "31", "hint": "33", "dim": "2"}


class Out:
    """Printing with colour only on a terminal and only without NO_COLOR (https://no-color.org)."""

    def __init__(self, stream=None, colour: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        if colour is None:
            colour = not os.environ.get("NO_COLOR") and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.colour = colour

    def paint(self, kind: str, text: str) -> str:
        return f"\033[{COLOURS[kind]}m{text}\033[0m" if self.colour else text

    def __call__(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def step(self, step: Step, done: bool) -> None:
        mark = self.paint("ok", "✓") if done else self.paint("fail", "✗")
        self(f"{mark} {step.id} {step.title}")

    def hint(self, step: Step) -> None:
        self(f"  {self.paint('hint', 'hint:')} {step.hint}")
        self(self.paint("dim", f"  stuck? `lab solve {step.id}` runs the step for you"))


def minutes(page: Page) -> str:
    return f"about {page.minutes} min" if page.minutes else "time not measured"


def do_list(pages: list[Page], ref: str | None, out: Out) -> int:
    chosen = [course.find(pages, ref)[0]] if ref else pages
    for page in chosen:
        out(f"{page.number}. {page.title} ({minutes(page)}, {page.path.name})")
        for step in page.steps:
            out(f"   {step.id} {step.title}")
    return 0


def do_status(pages: list[Page], run: ScriptRunner, out: Out) -> int:
    """Pages up to the latest one done are done; the others show how far their step checks go."""
    behind = course.latest_done(pages, run)
    for index, page in enumerate(pages):
        where = course.Progress(page, True, len(page.steps)) if index < behind else course.progress(page, run)
        step = where.next_step
        state = out.paint("ok", "done") if step is None else \
            f"{where.reached}/{len(page.steps)} steps, next: {step.id} {step.title}"
        out(f"{page.number}. {page.title}: {state}")
    return 0 if behind == len(pages) else 1


def do_check(pages: list[Page], ref: str | None, run: ScriptRunner, out: Out) -> int:
    if ref:
        page, step = course.find(pages, ref)
        if step is not None:
            done = course.step_passes(run, step)
            out.step(step, done)
            if not done:
                out.hint(step)
            return 0 if done else 1
        where = course.progress(page, run)
    else:
        found = course.current(pages, run)
        if found is None:
            out(out.paint("ok", "every page is done"))
            return 0
        where = found
    page = where.page
    out(f"{page.number}. {page.title}")
    for step in page.steps:
        out.step(step, where.done or step.index <= where.reached)
        if step is where.next_step:
            out.hint(step)
            break
    return 0 if where.done else 1


def do_hint(pages: list[Page], ref: str | None, run: ScriptRunner, out: Out) -> int:
    if ref:
        page, step = course.find(pages, ref)
        step = step or course.progress(page, run).next_step
    else:
        found = course.current(pages, run)
        step = found.next_step if found else None
    if step is None:
        out("nothing left to do here: the page's check passes")
        return 0
    out(f"{step.id} {step.title}")
    out.hint(step)
    return 0


def do_solve(pages: list[Page], ref: str, run: ScriptRunner, out: Out) -> int:
    page, step = course.find(pages, ref)
    done = course.solve(page, step or page.steps[-1], run, out)
    if done.code:
        out(out.paint("fail", done.output))
        return 1
    out(out.paint("ok", f"solved up to {(step or page.steps[-1]).id}"))
    return 0


def do_reset(pages: list[Page], ref: str, run: ScriptRunner, out: Out) -> int:
    page, step = course.find(pages, ref)
    if step is not None:
        raise course.UsageError(f"`lab reset` takes a page, not a step: `lab reset {page.number}`")
    done = course.reset(pages, page, run, out)
    if done.code:
        out(out.paint("fail", done.output))
        return 1
    out(out.paint("ok", f"ready for page {page.number}: {page.title} (start at step {page.steps[0].id})"))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="lab", description="Check, hint, solve and reset the workshop's exercises. "
                                  "PAGE is a number (3) or a name (forge); STEP is PAGE.N (3.2).")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="pages and their steps").add_argument("page", nargs="?", metavar="PAGE")
    sub.add_parser("status", help="which steps of which page are done (exit 1 until all are)")
    sub.add_parser("check", help="is this step / page / the current page done?").add_argument(
        "ref", nargs="?", metavar="PAGE[.STEP]")
    sub.add_parser("hint", help="the hint for a step (default: your next step)").add_argument(
        "ref", nargs="?", metavar="PAGE[.STEP]")
    sub.add_parser("solve", help="run the steps up to PAGE.STEP that are not done yet").add_argument(
        "ref", metavar="PAGE[.STEP]")
    sub.add_parser("reset", help="put the cluster and files where PAGE starts, whatever their state").add_argument(
        "ref", metavar="PAGE")
    return top


def main(argv: Sequence[str] | None = None, run: ScriptRunner | None = None, out: Out | None = None,
         store: record.ProgressStore | None = None) -> int:
    """`store`: where a seat's checks are recorded (default: the seat's ConfigMap when SHOPBOX_SEAT is set)."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    out = out or Out()
    if store is None and record.enabled():
        store = record.KubectlStore()
    tally = record.Tally()
    try:
        return _command(args, run, out, tally)
    finally:
        if store is not None:
            record.save(tally, store, datetime.now(UTC), _warn)


def _warn(why: str) -> None:
    print(f"lab: progress not recorded for the instructor ({why})", file=sys.stderr)


def _command(args: argparse.Namespace, run: ScriptRunner | None, out: Out, tally: record.Tally) -> int:
    try:
        directory = course.pages_dir()
        pages = course.load(directory)
        run = course.Noted(run or Bash(directory.parent), tally.note)
        if args.command == "list":
            return do_list(pages, args.page, out)
        if args.command == "status":
            return do_status(pages, run, out)
        if args.command == "check":
            return do_check(pages, args.ref, run, out)
        if args.command == "hint":
            return do_hint(pages, args.ref, run, out)
        if args.command == "solve":
            return do_solve(pages, args.ref, run, out)
        return do_reset(pages, args.ref, run, out)
    except (course.UsageError, PageError) as err:
        print(f"lab: {err}", file=sys.stderr)
        return 2

