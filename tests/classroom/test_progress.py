"""The progress record's write rule (what `lab` will write) and how `class status` reads it back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from classroom import progress

pytestmark = pytest.mark.unit

T0 = datetime(2030, 5, 4, 9, 0, tzinfo=UTC)


def test_failures_in_a_row_count_until_the_step_passes() -> None:
    data = progress.record(None, "3.1", True, T0)
    data = progress.record(data, "3.2", False, T0 + timedelta(minutes=1))
    data = progress.record(data, "3.2", False, T0 + timedelta(minutes=2))
    data = progress.record(data, "3.2", False, T0 + timedelta(minutes=3))
    assert (data["reached"], data["failing"], data["failures"]) == ("3.1", "3.2", "3")
    assert data["updated"] == "2030-05-04T09:03:00Z"
    data = progress.record(data, "3.2", True, T0 + timedelta(minutes=4))
    assert (data["reached"], data["failing"], data["failures"]) == ("3.2", "", "0")
    checks = json.loads(data["checks"])
    assert checks["3.2"] == {"ok": True, "at": "2030-05-04T09:04:00Z", "streak": 1}
    assert checks["3.1"]["ok"] is True


def test_reached_is_the_furthest_step_passed_by_number_not_by_text() -> None:
    data = progress.record(None, "9.1", True, T0)
    data = progress.record(data, "10.1", True, T0)
    data = progress.record(data, "3.7", False, T0)
    assert data["reached"] == "10.1"


def test_a_broken_record_is_rewritten_not_fatal() -> None:
    data = progress.record({"checks": "not json"}, "4.1", False, T0)
    assert json.loads(data["checks"]) == {"4.1": {"ok": False, "at": "2030-05-04T09:00:00Z", "streak": 1}}


def test_the_record_reads_back_and_an_absent_or_odd_one_is_no_progress() -> None:
    cm = progress.configmap("room-ana", progress.record(None, "5.3", False, T0))
    assert cm["metadata"] == {"name": "shopbox-progress", "namespace": "room-ana",
                              "labels": {"class.shopbox.io/progress": "true"}}
    assert progress.parse(cm) == progress.Progress("", "5.3", 1, T0)
    assert progress.parse(None) == progress.Progress()
    assert progress.parse({"data": {"updated": "yesterday", "failures": "x"}}) == progress.Progress()
