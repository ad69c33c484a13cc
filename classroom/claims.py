"""Who has which seat: the portal's claims, kept in the cluster (ConfigMap `portal-claims` in the class namespace,
labelled as the class's, so `class down` removes it and a restarted portal knows them).

A claim is a participant's name and the hash of a random key that the portal hands their browser in a cookie: the
same browser can download its join file again, anyone else who types the same name gets another seat's refusal.
One portal process makes claims (a lock serialises them); the instructor's grid reads them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from classroom.errors import ClassError, UsageError
from classroom.model import timestamp
from classroom.names import class_labels, class_namespace

NAME = "portal-claims"
MAX_NAME = 60


@dataclass(frozen=True)
class Claim:
    seat: str
    name: str
    key_hash: str
    at: str

    def holds(self, key: str) -> bool:
        return bool(key) and hmac.compare_digest(self.key_hash, _hash(key))


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def clean_name(text: str) -> str:
    """A participant's name as typed: trimmed, one line, printable, at most MAX_NAME characters."""
    name = " ".join((text or "").split())
    if not name:
        raise UsageError("your name is missing")
    if len(name) > MAX_NAME or not name.isprintable():
        raise UsageError(f"your name must be at most {MAX_NAME} printable characters")
    return name


class ClaimsAPI(Protocol):
    """The part of classroom.api.ClassAPI the claims use."""

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None: ...

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]: ...


class Claims:
    def __init__(self, api: ClaimsAPI, klass: str, now: Callable[[], datetime]) -> None:
        self.api, self.klass, self.now = api, klass, now
        self._lock = threading.Lock()

    def read(self) -> dict[str, Claim]:
        """seat -> claim."""
        found = self.api.get("v1", "ConfigMap", class_namespace(self.klass), NAME) or {}
        claims = {}
        for seat, text in (found.get("data") or {}).items():
            try:
                entry = json.loads(text)
                claims[seat] = Claim(seat, str(entry["name"]), str(entry["key"]), str(entry.get("at", "")))
            except (ValueError, KeyError, TypeError):
                continue  # an entry someone edited by hand: the seat counts as free
        return claims

    def _write(self, claims: dict[str, Claim]) -> None:
        data = {c.seat: json.dumps({"name": c.name, "key": c.key_hash, "at": c.at}, sort_keys=True)
                for c in claims.values()}
        self.api.apply({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": NAME, "namespace": class_namespace(self.klass),
                                     "labels": class_labels(self.klass)},
                        "data": data})

    def claim(self, name: str, key: str, seats: list[str], wanted: str = "",
              add_seat: Callable[[], str] | None = None) -> tuple[Claim, str]:
        """The seat for `name`: the one this browser (`key`) already holds, else `wanted` if free, else the first
        free seat, else a new one from `add_seat` (None: none may be added). Returns the claim and the key to give
        the browser (a new one for a new claim). ClassError (one line, for the participant) when there is none."""
        name = clean_name(name)
        with self._lock:
            claims = self.read()
            held = next((c for c in claims.values() if c.holds(key)), None)
            if held is not None:
                return held, key
            if any(c.name.casefold() == name.casefold() for c in claims.values()):
                raise ClassError(f"the name {name!r} already has a seat: if it is yours, use the browser you claimed "
                                 "it with, or ask the instructor")
            if wanted:
                if wanted not in seats:
                    raise UsageError(f"there is no seat {wanted!r} in this class (check your card)")
                if wanted in claims:
                    raise ClassError(f"seat {wanted} is taken: leave the seat field empty to get a free one, or ask "
                                     "the instructor")
                seat = wanted
            else:
                free = [s for s in seats if s not in claims]
                if free:
                    seat = free[0]
                elif add_seat is not None:
                    seat = add_seat()
                else:
                    raise ClassError("every seat of this class is taken: ask the instructor for one more")
            key = secrets.token_urlsafe(24)
            claims[seat] = Claim(seat, name, _hash(key), timestamp(self.now()))
            self._write(claims)
            return claims[seat], key

    def release(self, seat: str) -> bool:
        """Forget the claim on `seat` (the instructor's; the seat itself stays as it is)."""
        with self._lock:
            claims = self.read()
            if claims.pop(seat, None) is None:
                return False
            self._write(claims)
            return True
