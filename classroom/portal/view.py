"""The grid's rows: `class status`'s rows with the participant's name, the page they are on and whether they are
stuck (the same step's check failed `stuck_after` times in a row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from classroom.claims import Claim
from classroom.status import SeatStatus, age
from exercises.lab.page import Page


@dataclass(frozen=True)
class Row:
    status: SeatStatus
    name: str  # who claimed the seat ("" for none)
    page: str  # "5. The edge" (the page of the step failing, else of the step reached), "" before any check
    page_number: int
    stuck: bool
    active: str  # last activity, as "12s ago"

    @property
    def seat(self) -> str:
        return self.status.seat


def page_of(step: str, pages: list[Page]) -> Page | None:
    number = step.split(".", 1)[0]
    return next((p for p in pages if number.isdigit() and p.number == int(number)), None)


def grid_rows(statuses: list[SeatStatus], claims: dict[str, Claim], pages: list[Page], stuck_after: int,
              now: datetime) -> list[Row]:
    rows = []
    for found in statuses:
        page = page_of(found.failing or found.reached, pages) if (found.failing or found.reached) else None
        claim = claims.get(found.seat)
        rows.append(Row(found, claim.name if claim else "", f"{page.number}. {page.title}" if page else "",
                        page.number if page else 0, bool(found.failing) and found.failures >= stuck_after,
                        age(found.last_activity, now)))
    return rows
