"""Test tiers and shared fixtures.

Every test belongs to exactly one tier marker: unit, dataplane, docker, cluster or workshop. The README's test command
runs each tier in turn; with CI=true a tier whose prerequisite is missing fails instead of skipping. A test marked with
one of OPT_IN's markers is left out (deselected, not skipped) unless its variable is 1: its run costs more than the
cold `make test` can afford (tests/README.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

TIERS = ("unit", "dataplane", "docker", "cluster", "workshop")
OPT_IN = {"class_replay": "SHOPBOX_CLASS_REPLAY"}  # marker -> the variable that selects its tests (=1)

pytest_plugins = ["tests.platform.fixtures", "tests.cluster.fixtures", "tests.workshop.fixtures",
                  "tests.class_cluster.fixtures"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tiers = [t for t in TIERS if item.get_closest_marker(t)]
        if len(tiers) != 1:
            raise pytest.UsageError(f"{item.nodeid}: needs exactly one tier marker of {TIERS}, has {tiers}")
    left_out = [item for item in items
                if any(item.get_closest_marker(m) and os.environ.get(v) != "1" for m, v in OPT_IN.items())]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]


@pytest.fixture
def report(capsys: pytest.CaptureFixture, request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Print a measured number into the test run's output (not captured), tagged with the test module's name:
    `[dataplane] ...` from test_dataplane.py, `[workshop] ...` from test_workshop.py."""
    tag = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")

    def emit(message: str) -> None:
        with capsys.disabled():
            print(f"\n[{tag}] {message}", flush=True)
    return emit
