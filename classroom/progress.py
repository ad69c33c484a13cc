"""The per-seat progress record: a ConfigMap `lab` writes in the seat's namespace each time it runs a check, and
`class status` (and the instructor's grid) reads.

ConfigMap `shopbox-progress`, label `class.shopbox.io/progress: "true"` (not the class label: the seat writes
it, and `class reset` removes it with the rest of the seat's state). Its `data` keys are in classroom/README.md
("The progress record"): `reached`, `failing`, `failures`, `updated`, `checks`.

`record()` is the whole write rule, so that `lab` and the tests agree on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from classroom.model import parse_timestamp, timestamp
from classroom.names import DOMAIN

NAME = "shopbox-progress"
LABEL = f"{DOMAIN}/progress"


@dataclass(frozen=True)
class Progress:
    reached: str = ""
    failing: str = ""
    failures: int = 0
    updated: datetime | None = None


def _step_key(step: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in step.split("."))
    except ValueError:
        return (-1,)


def record(data: dict[str, str] | None, step: str, ok: bool, now: datetime) -> dict[str, str]:
    """The record's data after one check of `step` (ok or not) at `now`."""
    data = dict(data or {})
    try:
        checks = json.loads(data.get("checks") or "{}")
    except ValueError:
        checks = {}
    if not isinstance(checks, dict):
        checks = {}
    previous = checks.get(step) if isinstance(checks.get(step), dict) else {}
    streak = int(previous.get("streak", 0)) + 1 if previous.get("ok") is ok else 1
    checks[step] = {"ok": ok, "at": timestamp(now), "streak": streak}
    passed = [s for s, c in checks.items() if isinstance(c, dict) and c.get("ok")]
    return {
        "reached": max(passed, key=_step_key) if passed else "",
        "failing": "" if ok else step,
        "failures": "0" if ok else str(streak),
        "updated": timestamp(now),
        "checks": json.dumps(checks, sort_keys=True),
    }


def configmap(namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": NAME, "namespace": namespace, "labels": {LABEL: "true"}}, "data": data}


def parse(cm: dict[str, Any] | None) -> Progress:
    """A record as read back; an absent or unreadable one is no progress (never an error: the seat writes it)."""
    data = (cm or {}).get("data") or {}
    try:
        updated = parse_timestamp(data["updated"]) if data.get("updated") else None
    except ValueError:
        updated = None
    failures = data.get("failures", "0")
    return Progress(reached=str(data.get("reached") or ""), failing=str(data.get("failing") or ""),
                    failures=int(failures) if str(failures).isdigit() else 0, updated=updated)
