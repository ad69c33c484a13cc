"""The built deck in a real browser (Debian's Chromium driven by Playwright), served by `python -m slides serve`.

Every slide: nothing loaded from anywhere but the local server, no console error, no broken image, nothing
outside the slide, no code block that scrolls or is shrunk below a readable size, no unexpanded directive, a
speaker note with a timing. Every link (exercise pages, project files) answers 200 from the server. One PNG per
slide and a contact sheet go to slides/build/browser-test/. The PDF (headless Chromium's print) has one page per
slide.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import zlib
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from tests.platform.fixtures import require_command
from tests.platform.procs import free_port, port_open, running

pytestmark = pytest.mark.dataplane

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "slides" / "build" / "browser-test"
CHECK_SLIDE = (Path(__file__).parent / "check_slide.js").read_text(encoding="utf-8")
VIEWPORT = {"width": 1280, "height": 720}  # the slide size: one CSS pixel per slide pixel
MIN_CODE_LINE_PX = 15  # a code line shrunk (by Marp's auto-scaling) below this is unreadable from the back row


@pytest.fixture(scope="module")
def built() -> int:
    """`python -m slides build` into slides/build, as `make slides` does; the number of slides it reports."""
    require_command("dot")
    require_command("npm")
    result = subprocess.run([sys.executable, "-m", "slides", "build"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    return int(re.search(r"(\d+) slides", result.stdout)[1])


@pytest.fixture(scope="module")
def deck_url(built: int, tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    log = tmp_path_factory.mktemp("slides-serve") / "serve.log"
    argv = [sys.executable, "-m", "slides", "serve", "--port", str(port)]
    with running(argv, log, ready=lambda: port_open(port), what="python -m slides serve", cwd=ROOT):
        url = f"http://127.0.0.1:{port}/slides/build/index.html"
        assert url in log.read_text(), "serve does not print the deck's URL"
        yield url


@pytest.fixture(scope="module")
def browser():
    chromium = require_command("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        yield browser
        browser.close()


def contact_sheet(pngs: list[Path], target: Path, columns: int = 8) -> None:
    """All slides as 320x180 thumbnails in one image."""
    from PIL import Image

    width, height, gap = 320, 180, 8
    rows = -(-len(pngs) // columns)
    sheet = Image.new("RGB", (columns * (width + gap) + gap, rows * (height + gap) + gap), "#444444")
    for number, png in enumerate(pngs):
        with Image.open(png) as image:
            thumb = image.convert("RGB").resize((width, height))
        sheet.paste(thumb, (gap + (number % columns) * (width + gap), gap + (number // columns) * (height + gap)))
    sheet.save(target)


def test_every_slide_renders_cleanly(browser, deck_url: str, built: int) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(f"request failed: {request.url}"))
    page.on("response", lambda response: errors.append(f"{response.status}: {response.url}")
            if response.status >= 400 else None)
    origin = deck_url.split("/slides/")[0]
    page.on("request", lambda request: None if request.url.startswith((origin, "data:")) else
            errors.append(f"not offline: {request.url}"))
    page.goto(deck_url, wait_until="load")
    page.add_style_tag(content=".bespoke-marp-osc { display: none !important; }")  # the on-screen controls
    assert page.locator("svg.bespoke-marp-slide").count() == built

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTEFACTS.glob("*.png"):
        old.unlink()
    problems, pngs = [], []
    for index in range(1, built + 1):
        page.evaluate(f"location.hash = '#{index}'")
        page.wait_for_selector(f"svg.bespoke-marp-active section[id='{index}']", state="attached")
        page.wait_for_function("Array.from(document.images).every(image => image.complete)")
        result = page.evaluate(CHECK_SLIDE, index)
        found = list(result["problems"])
        if result["codeLinePx"] is not None and result["codeLinePx"] < MIN_CODE_LINE_PX:
            found.append(f"code shrunk to {result['codeLinePx']:.1f} px per line (< {MIN_CODE_LINE_PX})")
        problems += [f"slide {index}: {problem}" for problem in found]
        pngs.append(ARTEFACTS / f"slide-{index:03d}.png")
        page.screenshot(path=str(pngs[-1]))
    contact_sheet(pngs, ARTEFACTS / "contact-sheet.png")
    assert not errors, errors
    assert not problems, "\n".join(problems)


def test_every_link_resolves(browser, deck_url: str) -> None:
    page = browser.new_page()
    page.goto(deck_url, wait_until="load")
    hrefs = page.eval_on_selector_all("section a[href]", "links => links.map(link => link.getAttribute('href'))")
    local = sorted({href.split("#")[0] for href in hrefs if not re.match(r"[a-z]+:", href) and href[:1] != "#"})
    assert any("exercises/" in href for href in local)  # the lab slides link their pages
    broken = [href for href in local if requests.get(urljoin(deck_url, href), timeout=10).status_code != 200]
    assert not broken, f"links that do not resolve from {deck_url}: {broken}"
    for href in local:
        assert (ROOT / "slides" / "build" / href).resolve().is_file(), href


def test_serve_refuses_a_busy_port_with_one_line(built: int) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "slides", "serve", "--port", str(port)], cwd=ROOT,
                                capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"slides: cannot listen on 127.0.0.1:{port}: Address already in use "
                                          "(another --port?)"]


def test_pdf_has_one_page_per_slide(built: int) -> None:
    require_command("chromium")
    result = subprocess.run([sys.executable, "-m", "slides", "pdf"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    data = (ROOT / "slides" / "build" / "deck.pdf").read_bytes()
    assert data.startswith(b"%PDF")
    assert pdf_pages(data) == built


def pdf_pages(data: bytes) -> int:
    """Page objects in a PDF, also those inside compressed object streams (Marp's PDFs use them)."""
    texts = [data]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        with contextlib.suppress(zlib.error):
            texts.append(zlib.decompress(stream))
    return sum(len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", text)) for text in texts)


def test_presenter_view_shows_the_notes(browser, deck_url: str) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{deck_url}?view=presenter#2", wait_until="load")
    note = page.locator(".bespoke-marp-presenter-note-container .bespoke-marp-note.active")
    note.wait_for(state="visible", timeout=10_000)
    assert re.search(r"\[\d+(\.\d+)? min\]", note.inner_text())
    assert page.locator(".bespoke-marp-presenter-info-page").inner_text().startswith("2 / ")
    assert not errors, errors
