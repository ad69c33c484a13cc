"""What the instructor sees while the seats work: `class status -o json` and the portal's grid rows read every
few seconds by a background thread, each seat's page as each of them showed it, and the checks on that timeline
(each seat seen at two pages at least, never going back). The reads are callables, so that the unit tier runs the
same code on canned answers (tests/class_cluster/test_progress_watch.py).

The page a seat is shown at is the grid's rule (classroom/portal/view.py): the page of the step failing, else of
the step reached; 0 before any check was recorded.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

STATUS = "class status"
GRID = "grid"
ROW = re.compile(r'<tr id="seat-(?P<seat>[^"]+)" class="(?P<class>[^"]*)" data-reached="(?P<reached>[^"]*)" '
                 r'data-failing="(?P<failing>[^"]*)">(?P<cells>.*?)</tr>', re.S)
PAGE_CELL = re.compile(r'<td class="page">(?P<page>[^<]*)</td>')
FAILURES = re.compile(r'<span class="fail">[^<]* x(?P<n>\d+)</span>')


@dataclass(frozen=True)
class Shown:
    """One seat as one read showed it."""

    reached: str
    failing: str
    failures: int
    page: int  # 0: no page yet
    stuck: bool = False

    @property
    def step(self) -> str:
        return self.failing or self.reached


def page_number(step: str) -> int:
    """`5.2` -> 5 (0 for no step)."""
    head = step.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def status_shown(text: str) -> dict[str, Shown]:
    """`class status -o json`'s rows, by seat."""
    rows = json.loads(text[text.index("["):])  # whatever the shell printed before the JSON
    return {r["seat"]: Shown(r["reached"], r["failing"], int(r["failures"]), page_number(r["failing"] or r["reached"]))
            for r in rows}


def grid_shown(text: str) -> dict[str, Shown]:
    """The grid's rows (`/instructor/grid`, grid_rows.html), by seat: the page as its page cell shows it."""
    found = {}
    for row in ROW.finditer(text):
        cell = PAGE_CELL.search(row["cells"])
        page = html.unescape(cell["page"]) if cell else ""
        head = re.match(r"(\d+)\. ", page)
        failures = FAILURES.search(row["cells"])
        found[row["seat"]] = Shown(html.unescape(row["reached"]), html.unescape(row["failing"]),
                                   int(failures["n"]) if failures else 0, int(head[1]) if head else 0,
                                   "stuck" in row["class"].split())
    return found


@dataclass(frozen=True)
class Sighting:
    at: float  # seconds since the watch started
    source: str  # STATUS or GRID
    seat: str
    shown: Shown


def _clock(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


@dataclass
class Watcher:
    """Reads every source every `interval` seconds in a thread, from `with` to its end (and never longer than
    `limit`); `poll()` reads once more now. A read that fails is kept in `errors` with its time."""

    sources: dict[str, Callable[[], dict[str, Shown]]]
    interval: float = 20.0
    limit: float = 7200.0
    sightings: list[Sighting] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    polls: int = 0
    _started: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Watcher:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="progress-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=300)

    def _loop(self) -> None:
        while not self._stop.is_set() and time.monotonic() - self._started < self.limit:
            began = time.monotonic()
            self.poll()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))

    def poll(self) -> dict[str, dict[str, Shown]]:
        """Every source once, now; what each showed (a source whose read failed is left out)."""
        found = {}
        with self._lock:
            self.polls += 1
            for source, read in self.sources.items():
                at = time.monotonic() - self._started
                try:
                    found[source] = read()
                except Exception as err:  # kept with its time: the test fails on it at the end
                    first = next(iter(str(err).strip().splitlines()), type(err).__name__)
                    self.errors.append(f"{_clock(at)} {source}: {first}")
                    continue
                self.sightings += [Sighting(at, source, seat, shown) for seat, shown in sorted(found[source].items())]
        return found


def problems(sightings: Iterable[Sighting], seats: Iterable[str], source: str, pages_at_least: int = 2) -> list[str]:
    """What the `source`'s timeline got wrong: a seat never seen, seen at fewer than `pages_at_least` pages, or shown
    at a page before one it was shown at already. One line each, naming the seat, the pages and the times."""
    found = []
    for seat in seats:
        mine = [s for s in sightings if s.source == source and s.seat == seat]
        if not mine:
            found.append(f"{seat}: {source} never showed it")
            continue
        pages = sorted({s.shown.page for s in mine if s.shown.page})
        if len(pages) < pages_at_least:
            found.append(f"{seat}: {source} showed it at {len(pages)} page(s) only ({pages}) in {len(mine)} reads")
        for before, after in itertools.pairwise(mine):
            if after.shown.page < before.shown.page:
                found.append(f"{seat}: {source} showed page {after.shown.page} (step {after.shown.step or '-'}) at "
                             f"{_clock(after.at)}, after page {before.shown.page} (step {before.shown.step}) at "
                             f"{_clock(before.at)}")
    return found


def timeline(sightings: Iterable[Sighting], source: str) -> list[str]:
    """Per seat, each change of the page it was shown at: `seat-01: 0:00 -, 0:41 3 (3.2), 5:03 4 (4.1), ...`."""
    lines, by_seat = [], {}
    for s in sightings:
        if s.source == source:
            by_seat.setdefault(s.seat, []).append(s)
    for seat, mine in sorted(by_seat.items()):
        changes, last = [], None
        for s in mine:
            if s.shown.page != last:
                changes.append(f"{_clock(s.at)} {s.shown.page or '-'}" + (f" ({s.shown.step})" if s.shown.step else ""))
                last = s.shown.page
        lines.append(f"  {seat}: " + ", ".join(changes) + f" ({len(mine)} reads)")
    return lines
