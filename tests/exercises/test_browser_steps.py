"""The browser steps of exercises 6 and 7 in a real browser (tests/exercises/browser.py): the canary console page
(`$PROM/consoles/canary.html`) and the Prometheus graph of stable vs canary p95, served by the real Prometheus of
the loopback data plane (tests/services/stack.py) while load with a slow canary runs through the real Envoy. The
workshop tier checks the same pages on the kind cluster from the host, through kind's port mapping."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.exercises.browser import P95, canary_console, chromium, graph_draws_both_series
from tests.services.stack import Stack, start_stack

pytestmark = pytest.mark.dataplane


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The data plane with its slow canary, under load until Prometheus has p95 for both (at most 90 s)."""
    for stack in start_stack(tmp_path_factory.mktemp("browser"), secrets.token_urlsafe(24)):
        stack.start_canary()
        load = stack.load(threads=6, count=100_000, seconds=120).start()
        try:
            deadline = time.monotonic() + 90
            while stack.values(P95).keys() < {"qotm", "qotm-canary"} and time.monotonic() < deadline:
                time.sleep(2)
            yield stack
        finally:
            load.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def test_the_canary_console_shows_stable_and_canary_side_by_side(loaded: Stack, browser: Any) -> None:
    canary_console(browser, loaded.prometheus, "canary-console")


def test_the_prometheus_graph_draws_both_series(loaded: Stack, browser: Any) -> None:
    graph_draws_both_series(browser, loaded.prometheus, "prometheus-graph")
