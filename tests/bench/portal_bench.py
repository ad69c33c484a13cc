"""The instructor's progress grid against `class status` for the same 50 seats (goals: 2 s and 5 s), interleaved:
per round one `shopbox-class status` (a process, as the instructor runs it) and one GET of the grid page from the
running portal (gunicorn, its status cache expired), then the medians and their ratio. class_bench.py calls it on
its class of 50 seats."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

from classroom.portal.backend import STATUS_CACHE
from tests.classroom.portal_process import portal

ROUNDS = 5
CACHE = STATUS_CACHE + 0.1  # the portal's status cache expired between rounds


def _timed(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def grid_against_status(env: dict[str, str], workdir: Path, klass: str, seats: int,
                        status: Callable[[], object]) -> None:
    """`status`: one `class status` as the instructor runs it."""
    with portal(klass, workdir / f"class-{klass}", workdir / "portal.log", env) as running:
        instructor = running.instructor()

        def grid() -> None:
            answer = instructor.get(f"{running.url}instructor", timeout=60)
            answer.raise_for_status()
            assert answer.text.count('<tr id="seat-') == seats, "the grid lacks seats"

        grids, statuses = [], []
        for _ in range(ROUNDS):
            time.sleep(CACHE)
            grids.append(_timed(grid))
            statuses.append(_timed(status))
    g, s = statistics.median(grids), statistics.median(statuses)
    print(f"grid page, {seats} seats: median {g:.2f} s, max {max(grids):.2f} s (goal: 2 s); class status: median "
          f"{s:.2f} s, max {max(statuses):.2f} s (goal: 5 s); {ROUNDS} interleaved rounds, grid/status {g / s:.2f}")
