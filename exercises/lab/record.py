"""In a classroom seat, `lab` records the checks it ran in the seat's progress record (classroom/progress.py: the
ConfigMap `shopbox-progress` of the seat namespace), so that the instructor's grid and `class status` see where
each participant is, including steps only the participant's shell can check (files, `git diff`).

Only in a seat: the joined shell exports SHOPBOX_SEAT (the seat's name); without it (a participant's own kind
cluster) nothing is recorded and nothing is asked of the cluster. One read and one write per `lab` command (the
checks of one command are tallied first), through `kubectl` with the shell's own credentials and namespace. A
record that cannot be written costs one line on stderr and never changes `lab`'s output or exit status.

What a command's checks say (Tally): every step whose check passed (a page's own check passing counts as its
last step), then the one step the participant is working on, if its check failed: the lowest failing step above
the furthest one passed. Later steps' checks failing (`lab status` and `lab check` look ahead) are not the
participant's failures and are not recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

SEAT_ENV = "SHOPBOX_SEAT"
DEADLINE = 5.0  # seconds for the whole read-and-write (every kubectl call of one lab command)
ATTEMPTS = 3  # another `lab` in the same seat may write between our read and write


@dataclass
class Tally:
    """The checks of one `lab` command, by step, last result wins."""

    results: dict[str, bool] = field(default_factory=dict)

    def note(self, step: str, ok: bool) -> None:
        self.results.pop(step, None)
        self.results[step] = ok

    def outcomes(self) -> list[tuple[str, bool]]:
        """What to record, in order: the passes, then the failing step being worked on (if any) last."""
        from classroom.progress import step_key as _key

        passed = [step for step, ok in self.results.items() if ok]
        furthest = max((_key(s) for s in passed), default=())
        failing = [step for step, ok in self.results.items() if not ok and _key(step) > furthest]
        found = [(step, True) for step in passed]
        if failing:
            found.append((min(failing, key=_key), False))
        return found


class ProgressStore(Protocol):
    """The seat's progress record: its data and resourceVersion (None, None: there is none yet)."""

    def read(self) -> tuple[dict[str, str] | None, str | None]: ...

    def write(self, data: dict[str, str], version: str | None) -> bool:
        """Create (version None) or replace at `version`; False when someone else wrote first (retry)."""
        ...


class StoreError(Exception):
    """The record could not be read or written (one line: why)."""


Runner = Callable[[Sequence[str], str | None, float], subprocess.CompletedProcess[str]]


def _run(argv: Sequence[str], stdin: str | None, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), input=stdin, text=True, capture_output=True, timeout=timeout, check=False)


@dataclass
class KubectlStore:
    """The record through `kubectl` in the context's namespace (the seat's: its join file's kubeconfig sets it)."""

    run: Runner = _run
    kubectl: str = "kubectl"
    deadline: float = 0.0  # time.monotonic() by which every call is done (set by the first)

    def _kubectl(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        self.deadline = self.deadline or time.monotonic() + DEADLINE
        left = self.deadline - time.monotonic()
        if left < 1:
            raise StoreError(f"kubectl: no answer within {DEADLINE:.0f} s")
        try:
            return self.run([self.kubectl, f"--request-timeout={int(left)}s", *args], stdin, left)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise StoreError(f"kubectl: {err}") from None

    def read(self) -> tuple[dict[str, str] | None, str | None]:
        from classroom import progress

        done = self._kubectl("get", "configmap", progress.NAME, "--ignore-not-found", "-o", "json")
        if done.returncode != 0:
            raise StoreError(_first_line(done.stderr))
        if not done.stdout.strip():
            return None, None
        found = json.loads(done.stdout)
        return dict(found.get("data") or {}), str(found["metadata"]["resourceVersion"])

    def write(self, data: dict[str, str], version: str | None) -> bool:
        from classroom import progress

        body: dict[str, Any] = progress.configmap("", data)
        del body["metadata"]["namespace"]  # the context's
        if version:
            body["metadata"]["resourceVersion"] = version
        done = self._kubectl("replace" if version else "create", "-f", "-", stdin=json.dumps(body))
        if done.returncode == 0:
            return True
        if "the object has been modified" in done.stderr or "AlreadyExists" in done.stderr \
                or "already exists" in done.stderr:
            return False
        raise StoreError(_first_line(done.stderr))


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no output")


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    return bool(environ.get(SEAT_ENV))


def save(tally: Tally, store: ProgressStore, now: datetime, warn: Callable[[str], None]) -> None:
    """Add the tally to the seat's record (read, apply progress.record, write; retried on a concurrent write).
    Never raises: a failure is one warning."""
    outcomes = tally.outcomes()
    if not outcomes:
        return
    try:
        from classroom import progress

        for _ in range(ATTEMPTS):
            data, version = store.read()
            for step, ok in outcomes:
                data = progress.record(data, step, ok, now)
            if data is not None and store.write(data, version):
                return
        warn("another lab command kept writing the record at the same time")
    except (StoreError, ValueError, KeyError, ImportError) as err:
        warn(str(err))
