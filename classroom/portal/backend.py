"""What the portal asks of the class, in one place: seats and their status (the very reads of `class status`),
claims, join files, a seat added for a late participant, and the instructor's diagnosis and cluster-side checks.
Everything goes through classroom.api.ClassAPI (the unit tests give an in-memory one) and, for the dry runs and
checks, the instructor's kubectl and forge."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from classroom import checks, diagnose, facts, progress, status, up
from classroom.api import ClassAPI
from classroom.claims import Claims
from classroom.errors import ClassError
from classroom.model import Registry
from classroom.names import check_seat_name, seat_namespace
from classroom.seat import SEAT_INFO
from exercises.lab.page import Page, Step

STATUS_CACHE = 2.0  # seconds a status read serves every request (a grid refresh of several tabs reads once)


@dataclass
class AddPolicy:
    """Whether the portal may `class add` a seat when every seat is claimed, and how."""

    limit: int = 0  # seats the portal may add (0: none)
    registry_image: str = ""  # per-seat registries' image (class add's)
    external: dict[str, Registry] | None = None  # an external registry's per-seat entries (class add's)


class Backend:
    def __init__(self, api: ClassAPI, klass: str, join_dir: Path, root: Path, pages: list[Page],
                 add: AddPolicy | None = None, environ: dict[str, str] | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), cache_seconds: float = STATUS_CACHE) -> None:
        self.api, self.klass, self.join_dir, self.root, self.pages = api, klass, join_dir, root, pages
        self.add = add or AddPolicy()
        self.environ = environ
        self.now = now
        self.claims = Claims(api, klass, now)
        self.added = 0
        self._cache_seconds = cache_seconds
        self._cached: tuple[float, list[status.SeatStatus]] | None = None
        self._status_lock = threading.Lock()

    # -- seats and status -------------------------------------------------------------------------------

    def seats(self) -> list[str]:
        return facts.seats(self.api, self.klass)

    def status(self) -> list[status.SeatStatus]:
        """`class status`'s rows (the same reads), shared by requests within `cache_seconds`."""
        with self._status_lock:
            if self._cached and time.monotonic() - self._cached[0] < self._cache_seconds:
                return self._cached[1]
            rows = status.status(self.api, self.klass)
            self._cached = (time.monotonic(), rows)
            return rows

    def record(self, seat: str) -> dict[str, Any]:
        """The seat's progress record: step -> {ok, at, streak} of every check lab recorded."""
        found = self.api.get("v1", "ConfigMap", seat_namespace(self.klass, seat), progress.NAME) or {}
        return progress.checks(found)

    # -- claiming -----------------------------------------------------------------------------------------

    def join_file(self, seat: str) -> bytes | None:
        path = self.join_dir / f"{check_seat_name(seat)}.yaml"
        try:
            return path.read_bytes()
        except OSError:
            return None

    def claimable(self) -> list[str]:
        """Seats with a join file the portal can hand out."""
        return [seat for seat in self.seats() if (self.join_dir / f"{seat}.yaml").is_file()]

    def add_seat(self) -> str:
        """A new seat (seat-NN after the highest number in use), made as `class add` makes it."""
        if self.added >= self.add.limit:
            raise ClassError("every seat of this class is taken: ask the instructor for one more")
        existing = set(self.seats())
        number = len(existing) + 1
        while f"seat-{number:02d}" in existing:
            number += 1
        name = f"seat-{number:02d}"
        up.add(self.api, up.UpOptions(self.klass, [name], self.join_dir, external=self.add.external,
                                      registry_image=self.add.registry_image), self.now(), lambda _: None)
        self.added += 1
        with self._status_lock:
            self._cached = None
        return name

    # -- the instructor's looks into a seat ---------------------------------------------------------------

    def seat(self, seat: str) -> diagnose.Seat:
        namespace = seat_namespace(self.klass, check_seat_name(seat))
        info = self.api.get("v1", "ConfigMap", namespace, SEAT_INFO)
        if info is None:
            raise ClassError(f"there is no seat {seat} in class {self.klass}")
        return diagnose.Seat(namespace, str((info.get("data") or {}).get("registry") or ""))

    def step(self, step_id: str) -> Step:
        for page in self.pages:
            for found in page.steps:
                if found.id == step_id:
                    return found
        raise ClassError(f"there is no step {step_id!r} on the exercise pages")

    def page(self, number: int) -> Page:
        for found in self.pages:
            if found.number == number:
                return found
        raise ClassError(f"there is no page {number}")

    def diagnose(self, seat: str, step_id: str) -> diagnose.Diagnosis:
        return diagnose.diagnose(self.root, self.step(step_id).solve.text, step_id, self.seat(seat), self.api,
                                 self.environ)

    def cluster_checks(self, seat: str, number: int) -> list[checks.StepCheck]:
        return checks.page_checks(self.page(number), self.seat(seat), self.root, self.environ)
