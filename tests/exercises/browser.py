"""The browser steps of exercises 6 and 7, as assertions on what a real browser (Debian's Chromium, driven by
Playwright) shows: the canary console page and the Prometheus graph of stable vs canary p95. Used against the
loopback data plane (test_browser_steps.py) and against the kind cluster from the host, through kind's port
mapping (tests/workshop). Screenshots go to exercises/build/browser/ (not in git)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.platform.fixtures import require_command

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "exercises" / "build" / "browser"
P95 = "envoy_cluster_name:upstream_rq_time_ms:p95_1m"
CONSOLE = "/consoles/canary.html"
# A browser address on a page: the edge's or Prometheus' default host address (exercises/README.md, "Names"), and
# the shell variable that holds it on this machine (another port, a classroom seat's port-forward).
PAGE_ADDRESS = re.compile(r"http://localhost:(8080|9090)(/[^\s`)]*)")
HOST_VARIABLE = {"8080": "SHOPBOX_EDGE_URL", "9090": "SHOPBOX_PROMETHEUS_URL"}


def prose(text: str) -> str:
    """A page without its fenced blocks and comments: what it tells the participant to do outside the shell (a URL
    in a command is the shell's: a port-forward's)."""
    text = re.sub(r"^<!--.*?-->\s*$", "", text, flags=re.M | re.S)  # lab's machinery: a renderer hides it
    return re.sub(r"^(```|~~~).*?^\1\s*$", "", text, flags=re.M | re.S)


def page_addresses() -> set[tuple[str, str]]:
    """(shell variable, path) of every browser address an exercise page names."""
    return {(HOST_VARIABLE[port], path) for page in sorted((ROOT / "exercises").glob("0*.md"))
            for port, path in PAGE_ADDRESS.findall(prose(page.read_text(encoding="utf-8")))}
VIEWPORT = {"width": 1280, "height": 800}


@contextmanager
def chromium() -> Iterator[Any]:
    executable = require_command("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        try:
            yield launched
        finally:
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


def canary_console(browser: Any, prometheus: str, shot: str) -> dict[str, float]:
    """Exercise 7's console page shows numbers for stable and canary, the slow canary's p95 standing out."""
    assert ("SHOPBOX_PROMETHEUS_URL", CONSOLE) in page_addresses(), "the pages no longer send the browser there"
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{prometheus}{CONSOLE}")
    cells = {c: page.inner_text(f"td.{c.replace(' ', '.')}") for c in ("stable rate", "canary rate",
                                                                     "stable p95", "canary p95")}
    assert page.inner_text("h1") == "qotm: stable vs canary"
    numbers = {c: float(text) for c, text in cells.items() if re.fullmatch(r"\d+(\.\d+)?", text)}
    assert numbers.keys() == cells.keys(), cells  # no "no data"
    assert numbers["stable rate"] > numbers["canary rate"] > 0, numbers
    assert numbers["canary p95"] - numbers["stable p95"] >= 300, numbers  # the 500 ms canary stands out
    screenshot(page, shot)
    return numbers


def graph_path() -> str:
    """The address of exercise 6's graph of p95 per Envoy cluster, as the page writes it."""
    (path,) = [path for variable, path in page_addresses() if path.startswith("/graph?") and P95 in path]
    return path


def graph_draws_both_series(browser: Any, prometheus: str, shot: str) -> None:
    """Exercise 6's Prometheus graph of p95 per Envoy cluster (the page's own address) draws stable and canary."""
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{prometheus}{graph_path()}")
    # Generous: on a loaded 2-core machine (Envoy, Prometheus, the load and Chromium share it) the UI's first
    # query_range and chart once took more than 30 s.
    page.wait_for_selector("canvas, svg", timeout=90_000)
    page.locator("text=/qotm-canary/").first.wait_for(timeout=60_000)
    body = page.inner_text("body")
    assert 'envoy_cluster_name="qotm"' in body and 'envoy_cluster_name="qotm-canary"' in body, body[:2000]
    screenshot(page, shot)
