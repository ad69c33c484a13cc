"""Fixtures shared by the services' tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture
def report(capsys: pytest.CaptureFixture, request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Print a measured number into the test run's output (not captured), tagged with the test module's name:
    `[dataplane] ...` from test_dataplane.py."""
    tag = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")

    def emit(message: str) -> None:
        with capsys.disabled():
            print(f"\n[{tag}] {message}", flush=True)
    return emit
