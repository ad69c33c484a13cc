"""`make slides`: assemble the deck, render its diagrams with Graphviz, and let Marp write static offline HTML.

Output (OUT, default slides/build/): index.html (one self-contained file: Marp inlines its CSS and JS), deck.md
(the assembled Markdown, what Marp got) and diagrams/*.svg. Nothing in it is loaded from the network.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from slides.deck import Assembler, Deck, DeckError, assemble
from versions_env import read_versions

SLIDES = Path(__file__).resolve().parent
ROOT = SLIDES.parent
DEFAULT_OUT = SLIDES / "build"
FRONT_MATTER = """---
marp: true
theme: shopbox
paginate: true
size: 16:9
title: Building resilient microservices with Kubernetes, Docker and Envoy
---

"""


def run(command: list[str], cwd: Path, what: str) -> None:
    """Run a build tool; its failure is one error naming the tool and its last output lines."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise DeckError(f"{what} failed (exit {result.returncode}): {tail}")


def require(command: str, package: str) -> str:
    path = shutil.which(command)
    if path is None:
        raise DeckError(f"`{command}` not found: install the Debian package {package} (tests/platform/install.sh)")
    return path


def ensure_marp() -> Path:
    """slides/node_modules from package-lock.json (`npm ci`), redone only when the lock file changes."""
    lock = SLIDES / "package-lock.json"
    stamp = SLIDES / "node_modules" / ".shopbox-lock-sha256"
    want = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not stamp.is_file() or stamp.read_text() != want:
        npm = require("npm", "npm")
        run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], SLIDES, "npm ci (slides/)")
        stamp.write_text(want)
    return SLIDES / "node_modules" / ".bin" / "marp"


def render_diagrams(names: set[str], out: Path) -> None:
    """slides/diagrams/NAME.dot -> OUT/diagrams/NAME.svg for every diagram a slide shows."""
    dot = require("dot", "graphviz")
    target = out / "diagrams"
    target.mkdir(parents=True, exist_ok=True)
    for name in sorted(names):
        source = SLIDES / "diagrams" / f"{name}.dot"
        run([dot, "-Tsvg", str(source), "-o", str(target / f"{name}.svg")], SLIDES, f"dot {source.relative_to(ROOT)}")


def assemble_deck(out: Path, root: Path = ROOT) -> Deck:
    """The deck's Markdown, from the fragments under root/slides/deck, for a deck written to `out`."""
    slides = root / "slides"
    assembler = Assembler(root, out, read_versions(root / "versions.env"), slides / "diagrams")
    return assemble(sorted((slides / "deck").glob("*.md")), assembler)


def build(out: Path = DEFAULT_OUT) -> Deck:
    """Build the whole deck into `out`; nothing is written there unless the Markdown assembled."""
    out = out.resolve()
    deck = assemble_deck(out)
    marp = ensure_marp()
    out.mkdir(parents=True, exist_ok=True)
    render_diagrams(deck.diagrams, out)
    (out / "deck.md").write_text(FRONT_MATTER + deck.markdown, encoding="utf-8")
    run([*marp_command(marp), "-o", str(out / "index.html"), "--", str(out / "deck.md")], SLIDES, "marp")
    return deck


def marp_command(marp: Path) -> list[str]:
    return [str(marp), "--no-stdin", "--html", "--theme-set", str(SLIDES / "theme.css")]


def pdf(out: Path = DEFAULT_OUT) -> Path:
    """OUT/deck.pdf from the built deck, printed by headless Chromium, speaker notes as PDF annotations."""
    out = out.resolve()
    if not (out / "deck.md").is_file():
        raise DeckError(f"{out / 'deck.md'} does not exist: build the deck first")
    chromium = require("chromium", "chromium")
    command = [*marp_command(ensure_marp()), "--pdf", "--pdf-notes", "--allow-local-files", "--browser", "chrome",
               "--browser-path", chromium, "-o", str(out / "deck.pdf"), "--", str(out / "deck.md")]
    run(command, SLIDES, "marp --pdf")
    return out / "deck.pdf"
