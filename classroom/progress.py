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


def step_key(step: str) -> tuple[int, ...]:
    """`5.12` -> (5, 12): steps in page order (a malformed one first)."""
    try:
        return tuple(int(part) for part in step.split("."))
    except ValueError:
        return (-1,)


def record(data: dict[str, str] | None, step: str, ok: bool, now: datetime) -> dict[str, str]:
    """The record's data after one check of `step` (ok or not) at `now`."""
    data = dict(data or {})
    checks = _checks(data.get("checks"))
    previous = checks.get(step, {})
    streak = int(previous.get("streak", 0)) + 1 if previous.get("ok") is ok else 1
    checks[step] = {"ok": ok, "at": timestamp(now), "streak": streak}
    passed = [s for s, c in checks.items() if isinstance(c, dict) and c.get("ok")]
    return {
        "reached": max(passed, key=step_key) if passed else "",
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


def _checks(text: str | None) -> dict[str, dict[str, Any]]:
    try:
        found = json.loads(text or "{}")
    except ValueError:
        return {}
    return {str(k): v for k, v in found.items() if isinstance(v, dict)} if isinstance(found, dict) else {}


def checks(cm: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Every check the record holds: step -> {ok, at, streak} ({} for an absent or unreadable record)."""
    return _checks(((cm or {}).get("data") or {}).get("checks"))
