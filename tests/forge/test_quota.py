"""A ResourceQuota's use and room (forge.cluster.quota), on status blocks as the API server writes them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from forge.cluster.quota import has_room, usage

pytestmark = pytest.mark.unit


def quota(hard: dict[str, str], used: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": "seat"}, "status": {"hard": hard, "used": used}}


def test_usage_is_each_limited_key_as_numbers_and_an_unused_key_is_zero() -> None:
    seat = quota({"requests.memory": "1536Mi", "pods": "20", "requests.cpu": "1600m"},
                 {"requests.memory": "1Gi", "pods": "12", "limits.memory": "3Gi"})
    assert usage(seat) == {"requests.memory": (Decimal(2 ** 30), Decimal(1536 * 2 ** 20)),
                           "pods": (Decimal(12), Decimal(20)), "requests.cpu": (Decimal(0), Decimal("1.6"))}
    assert usage({"metadata": {"name": "new"}}) == {}


@pytest.mark.parametrize(("hard", "requested", "room"), [
    ("1536Mi", {"requests.memory": "512Mi"}, True),   # exactly full after it: still room
    ("1500Mi", {"requests.memory": "512Mi"}, False),
    ("1536Mi", {"requests.memory": "512Mi", "requests.cpu": "100m"}, False),  # a key the quota does not limit
    ("1536Mi", {"requests.memory": "513Mi"}, False),
    ("1536Mi", {}, True),
])
def test_has_room_adds_the_request_to_what_is_used(hard: str, requested: dict[str, str], room: bool) -> None:
    assert has_room(quota({"requests.memory": hard}, {"requests.memory": "1Gi"}), requested) is room


def test_a_key_nothing_uses_yet_has_its_whole_hard_limit() -> None:
    seat = quota({"requests.cpu": "1600m"}, {})
    assert has_room(seat, {"requests.cpu": "1600m"}) and not has_room(seat, {"requests.cpu": "1601m"})


def test_a_quantity_that_is_not_one_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        has_room(quota({"requests.cpu": "lots"}, {}), {"requests.cpu": "1"})


def test_the_limits_are_the_spec_s_while_the_controller_has_not_copied_them_to_the_status_yet() -> None:
    raised = quota({"pods": "2"}, {"pods": "2"}) | {"spec": {"hard": {"pods": "3"}}}
    assert usage(raised) == {"pods": (Decimal(2), Decimal(3))}
    assert has_room(raised, {"pods": "1"})
    assert not has_room(quota({"pods": "2"}, {"pods": "2"}), {"pods": "1"})
