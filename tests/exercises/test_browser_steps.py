"""The browser steps of exercises 5 and 6 in a real browser (Debian's Chromium, driven by Playwright): the canary
console page (`$PROM/consoles/canary.html`) and the Prometheus graph of stable vs canary p95, served by the real
Prometheus of the loopback data plane (tests/services/stack.py) while load with a slow canary runs through the
real Envoy. Screenshots go to exercises/build/browser/ (not in git)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.platform.fixtures import require_command
from tests.services.stack import Stack, start_stack

pytestmark = pytest.mark.dataplane

SHOTS = Path(__file__).resolve().parents[2] / "exercises" / "build" / "browser"
P95 = "envoy_cluster_name:upstream_rq_time_ms:p95_1m"
GRAPH = f"/graph?g0.expr={P95}&g0.tab=0&g0.range_input=5m"
VIEWPORT = {"width": 1280, "height": 800}


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
    chromium = require_command("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium)
        yield launched
        launched.close()


def screenshot(page: Any, name: str) -> Path:
    """Save the page as SHOTS/NAME.png and make sure it is not one flat colour."""
    from PIL import Image

    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    with Image.open(path) as image:
        low, high = image.convert("L").getextrema()
    assert high - low > 50, f"{path}: a blank page"
    return path


def test_the_canary_console_shows_stable_and_canary_side_by_side(loaded: Stack, browser: Any) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{loaded.prometheus}/consoles/canary.html")
    cells = {c: page.inner_text(f"td.{c.replace(' ', '.')}") for c in ("stable rate", "canary rate",
                                                                     "stable p95", "canary p95")}
    assert page.inner_text("h1") == "qotm: stable vs canary"
    numbers = {c: float(text) for c, text in cells.items() if re.fullmatch(r"\d+(\.\d+)?", text)}
    assert numbers.keys() == cells.keys(), cells  # no "no data"
    assert numbers["stable rate"] > numbers["canary rate"] > 0, numbers
    assert numbers["canary p95"] - numbers["stable p95"] >= 300, numbers  # the 500 ms canary stands out
    screenshot(page, "canary-console")


def test_the_prometheus_graph_draws_both_series(loaded: Stack, browser: Any) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{loaded.prometheus}{GRAPH}")
    page.wait_for_selector("canvas, svg", timeout=30_000)
    legend = page.locator("text=/qotm-canary/").first
    legend.wait_for(timeout=30_000)
    body = page.inner_text("body")
    assert 'envoy_cluster_name="qotm"' in body and 'envoy_cluster_name="qotm-canary"' in body, body[:2000]
    screenshot(page, "prometheus-graph")
