"""The machine's kind lock (tests/platform/machine_lock.py): passes under the `flock` a developer runs the tests
with, and within one process twice; waits while another run holds it."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.platform.base_images import ROOT
from tests.platform.machine_lock import holders, kind_lock

pytestmark = pytest.mark.unit

TAKE = ("import sys; from pathlib import Path; from tests.platform.machine_lock import kind_lock\n"
        "with kind_lock(Path(sys.argv[1])):\n    with kind_lock(Path(sys.argv[1])):\n        print('held')")


def take(lock, *prefix: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, sys.executable, "-c", TAKE, str(lock)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_passes_under_the_flock_of_the_test_run_and_twice_in_one_process(tmp_path):
    lock = tmp_path / "lock"
    assert take(lock).stdout == "held\n"  # nobody holds it
    assert take(lock, "flock", str(lock)).stdout == "held\n"  # our own flock, an ancestor, holds it


def test_waits_while_another_run_holds_it(tmp_path):
    lock = tmp_path / "lock"
    other = subprocess.Popen(["flock", "--close", str(lock), "sleep", "30"])  # killing flock frees it
    try:
        deadline = time.monotonic() + 10
        while not holders(lock) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert holders(lock)
        with pytest.raises(subprocess.TimeoutExpired):
            take(lock, timeout=2)
    finally:
        other.kill()
        other.wait()
    assert take(lock).stdout == "held\n"


def test_in_process_nesting_does_not_deadlock(tmp_path):
    lock = tmp_path / "lock"
    with kind_lock(lock), kind_lock(lock):
        assert holders(lock)
    assert not holders(lock)
