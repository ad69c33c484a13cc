"""Names and labels of a class: its namespaces, the labels on every object it makes, and seat names.

A class `C` (default `shopbox`) owns the namespace `C` (the class record and the per-seat registries) and one
namespace `C-SEAT` per seat. Every object the class makes carries LABEL_CLASS=C (that label is what `class down`
deletes by and what the admission policy protects); per-seat objects carry LABEL_SEAT too.
"""

from __future__ import annotations

import re
from pathlib import Path

from classroom.errors import UsageError
from classroom.files import read_text
from forge.model import DNS_LABEL

DOMAIN = "class.shopbox.io"
LABEL_CLASS = f"{DOMAIN}/class"  # the class's name, on every object the class makes
LABEL_SEAT = f"{DOMAIN}/seat"  # the seat's name, on every per-seat object
LABEL_PART = f"{DOMAIN}/part"  # on namespaces: "class" (the class's own) or "seat"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "shopbox-class"  # LABEL_MANAGED_BY's value and the server-side apply field manager
PART_CLASS = "class"
PART_SEAT = "seat"
DEFAULT_CLASS = "shopbox"
# Longest names that leave room for what is derived from them: the seat namespace `CLASS-SEAT` (63), the registry
# StatefulSet `registry-SEAT` (52: its pods' controller-revision-hash label adds 11 characters).
MAX_CLASS = 20
MAX_SEAT = 40


def check_class_name(name: str) -> str:
    if not re.match(DNS_LABEL, name) or len(name) > MAX_CLASS:
        raise UsageError(f"class name {name!r} is not a DNS label of at most {MAX_CLASS} characters "
                         "(lowercase letters, digits and '-', starting and ending with a letter or digit)")
    return name


def check_seat_name(name: str, where: str = "seat name") -> str:
    if not re.match(DNS_LABEL, name) or len(name) > MAX_SEAT:
        raise UsageError(f"{where} {name!r} is not a DNS label of at most {MAX_SEAT} characters "
                         "(lowercase letters, digits and '-', starting and ending with a letter or digit)")
    return name


def numbered(count: int) -> list[str]:
    """Seat names for `class up N`: seat-01 ... seat-N (zero-padded so that they sort)."""
    if count < 1:
        raise UsageError(f"seat count {count}: expected a number of seats of at least 1")
    width = max(2, len(str(count)))
    return [f"seat-{i:0{width}d}" for i in range(1, count + 1)]


def read_names(path: Path) -> list[str]:
    """Seat names from a file: one a line; blank lines and `#` comments are skipped. Errors name file and line."""
    text = read_text(path, UsageError)
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        name = raw.split("#", 1)[0].strip()
        if not name:
            continue
        check_seat_name(name, f"{path}:{number}: seat name")
        if name in seen:
            raise UsageError(f"{path}:{number}: seat name {name!r} is a duplicate (first on line {seen[name]})")
        seen[name] = number
    if not seen:
        raise UsageError(f"{path}: no seat names in it (one a line)")
    return list(seen)


def class_namespace(klass: str) -> str:
    return klass


def seat_namespace(klass: str, seat: str) -> str:
    return f"{klass}-{seat}"


def class_labels(klass: str) -> dict[str, str]:
    return {LABEL_CLASS: klass, LABEL_MANAGED_BY: MANAGER}


def seat_labels(klass: str, seat: str) -> dict[str, str]:
    return {**class_labels(klass), LABEL_SEAT: seat}
