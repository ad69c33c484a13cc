"""The progress watcher of the class replay (tests/class_cluster/progress_watch.py) on canned answers: the grid's
rows as the portal's own template renders them, `class status -o json` as the command prints it, and the timeline
checks that the workshop-tier replay relies on."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pytest

from classroom import status
from classroom.portal.view import grid_rows
from exercises.lab import course
from tests.class_cluster.progress_watch import (
    GRID,
    STATUS,
    Shown,
    Sighting,
    Watcher,
    grid_shown,
    problems,
    status_shown,
    timeline,
)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PAGES = course.load(ROOT / "exercises")
NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def _rows() -> list[status.SeatStatus]:
    return [status.SeatStatus("seat-01", reached="9.7"),
            status.SeatStatus("seat-02", reached="5.1", failing="5.2", failures=1),
            status.SeatStatus("seat-03", reached="7.3", failing="7.3", failures=3),
            status.SeatStatus("seat-04")]


def test_grid_rows_as_the_portal_renders_them_give_each_seats_page_step_and_stuck() -> None:
    templates = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "classroom" / "portal" / "templates"),
                                   autoescape=True)
    text = templates.get_template("grid_rows.html").render(rows=grid_rows(_rows(), {}, PAGES, 3, NOW))
    assert grid_shown(text) == {"seat-01": Shown("9.7", "", 0, 9), "seat-02": Shown("5.1", "5.2", 1, 5),
                                "seat-03": Shown("7.3", "7.3", 3, 7, stuck=True), "seat-04": Shown("", "", 0, 0)}


def test_class_status_json_gives_the_same_pages_after_whatever_the_shell_printed_first() -> None:
    shown = status_shown("image shopbox:abc ready\n" + status.as_json(_rows()))
    assert {seat: (s.page, s.step, s.failures) for seat, s in shown.items()} == {
        "seat-01": (9, "9.7", 0), "seat-02": (5, "5.2", 1), "seat-03": (7, "7.3", 3), "seat-04": (0, "", 0)}


def _sightings(source: str, seat: str, steps: list[str]) -> list[Sighting]:
    return [Sighting(20.0 * i, source, seat, Shown(step, "", 0, int(step.split(".")[0]) if step else 0))
            for i, step in enumerate(steps)]


def test_a_timeline_going_forward_over_two_pages_has_no_problem() -> None:
    seen = _sightings(STATUS, "seat-01", ["", "3.1", "3.4", "4.1", "4.1"])
    assert problems(seen, ["seat-01"], STATUS) == []
    assert timeline(seen, STATUS) == ["  seat-01: 0:00 -, 0:20 3 (3.1), 1:00 4 (4.1) (5 reads)"]


def test_going_back_one_page_only_one_page_or_never_seen_are_named_with_seat_pages_and_times() -> None:
    seen = _sightings(GRID, "seat-01", ["3.1", "5.2", "4.3"]) + _sightings(GRID, "seat-02", ["3.1", "3.2"])
    assert problems(seen, ["seat-01", "seat-02", "seat-03"], GRID) == [
        "seat-01: grid showed page 4 (step 4.3) at 0:40, after page 5 (step 5.2) at 0:20",
        "seat-02: grid showed it at 1 page(s) only ([3]) in 2 reads",
        "seat-03: grid never showed it"]
    assert problems(seen, ["seat-01"], STATUS) == ["seat-01: class status never showed it"]


def test_the_watcher_reads_every_source_until_its_block_ends_and_keeps_failed_reads() -> None:
    count = itertools.count()

    def flaky() -> dict[str, Shown]:
        if next(count) == 1:
            raise AssertionError("./shopbox.sh class status exited 1\nmore")
        return {"seat-01": Shown("3.1", "", 0, 3)}

    with Watcher({STATUS: flaky, GRID: lambda: {"seat-01": Shown("3.1", "", 0, 3)}}, interval=0.01) as watcher:
        deadline = time.monotonic() + 10
        while watcher.polls < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    polls = watcher.polls
    time.sleep(0.05)
    assert watcher.polls == polls >= 4  # stopped with its block
    assert len(watcher.errors) == 1 and watcher.errors[0].endswith("class status: ./shopbox.sh class status exited 1")
    assert len([s for s in watcher.sightings if s.source == STATUS]) == polls - 1
    assert watcher.poll() == {STATUS: {"seat-01": Shown("3.1", "", 0, 3)}, GRID: {"seat-01": Shown("3.1", "", 0, 3)}}
