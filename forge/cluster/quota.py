"""What a ResourceQuota uses of what it allows, as numbers: the one place its status quantities are parsed and
compared (a refusal that may have cleared, forge.cluster.refusal; the seat's `join doctor` quota check)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from kubernetes.utils.quantity import parse_quantity


def usage(quota: Mapping[str, Any]) -> dict[str, tuple[Decimal, Decimal]]:
    """Each key the quota limits -> (used, hard); a key status.used does not name is 0 used. ValueError for a
    quantity that is not one. The limits are spec.hard, what the quota is set to: right after someone changes it,
    status.hard (what admission enforces) still holds the old limits until the quota controller copies the new
    ones, a moment later, and a refusal read in that moment would otherwise look lasting."""
    status = quota.get("status") or {}
    hard = (quota.get("spec") or {}).get("hard") or status.get("hard") or {}
    used = status.get("used") or {}
    return {key: (parse_quantity(str(used.get(key, "0"))), parse_quantity(str(most))) for key, most in hard.items()}


def has_room(quota: Mapping[str, Any], requested: Mapping[str, str]) -> bool:
    """Whether the quota has room for `requested` (key -> quantity) on top of what it uses: every key is one it
    limits, and used + requested stays within hard. ValueError for a quantity that is not one."""
    room = usage(quota)
    return all(key in room and room[key][0] + parse_quantity(str(amount)) <= room[key][1]
               for key, amount in requested.items())
