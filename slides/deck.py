"""Assembles the deck's Markdown from slides/deck/*.md: versions, includes, lab steps, repo links, notes.

Each fragment holds slides separated by `---` lines. Per slide, in this order:
- `{{ versions.KEY }}` becomes KEY's value in versions.env (only in the slide's own text, never in included code);
- include/render/steps directives are expanded (slides/includes.py), and spine ones (slides/spine.py);
- links `](repo:PATH)` become links to PATH relative to the built deck; PATH must exist;
- images `](diagrams/NAME.svg)` need slides/diagrams/NAME.dot;
- every slide needs a speaker note (an HTML comment) with its timing, `[N min]`.
Any problem is a DeckError naming the slide (number, fragment and line) and the file.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path

from slides import spine
from slides.includes import (
    DIRECTIVE,
    FENCE,
    IncludeError,
    bash_blocks,
    code_block,
    parse_include,
    read_source,
    region,
    step_headings,
)

VERSION = re.compile(r"\{\{\s*versions\.([A-Z0-9_]+)\s*\}\}")
REPO_LINK = re.compile(r"\]\(repo:([^)\s#]+)(#[^)\s]*)?\)")
DIAGRAM = re.compile(r"\]\(diagrams/([A-Za-z0-9_-]+)\.svg\)")
NOTE = re.compile(r"<!--(?!\s*(?:_?[a-zA-Z]+:|fit\b))(.*?)-->", re.S)
TIMING = re.compile(r"\[(\d+(?:\.\d+)?) min\]")


class DeckError(Exception):
    """The deck cannot be built; the message names the slide and the file."""


class DirectiveError(DeckError):
    """A problem at line `offset` of a slide (0: its first line)."""

    def __init__(self, offset: int, message: str):
        super().__init__(message)
        self.offset = offset


@dataclass
class Deck:
    """The assembled Markdown (without front matter) and what the build reports about it."""

    markdown: str
    slides: int
    minutes: float
    diagrams: set[str] = field(default_factory=set)


def split_slides(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each slide of a fragment; `---` inside a code block does not split."""
    slides, current, start, fence = [], [], 1, None
    for number, line in enumerate(text.splitlines(), start=1):
        opened = FENCE.match(line.strip())
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            fence = None
        if fence is None and line.rstrip() == "---":
            slides.append((start, "\n".join(current)))
            current, start = [], number + 1
            continue
        current.append(line)
    slides.append((start, "\n".join(current)))
    return [(line, body) for line, body in slides if body.strip()]


def forge_render(root: Path, service: str) -> str:
    """`forge render SERVICE` run in `root` by the real forge (offline: no Docker, no cluster)."""
    read_source(root, f"{service}/service.yaml")  # a service directory of the repository
    command = [sys.executable, "-c", "from forge.cli import main; main()", "render", service]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False, timeout=120)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise IncludeError(f"forge render {service} failed: {last}")
    return result.stdout


@dataclass
class Assembler:
    """Expands slides against the repository at `root`, for a deck written to `out_dir`."""

    root: Path
    out_dir: Path
    versions: dict[str, str]
    diagrams_dir: Path
    rendered: dict[str, str] = field(default_factory=dict)  # forge render output per service, for this build

    @property
    def spine(self) -> spine.Spine:
        return spine.load(self.root / "slides" / "spine.yaml")

    def link(self, relative: str) -> str:
        """The path of repository file `relative` as seen from the built deck."""
        return Path(os.path.relpath(self.root / relative, self.out_dir)).as_posix()

    def substitute_versions(self, line: str) -> str:
        def value(match: re.Match[str]) -> str:
            if match[1] not in self.versions:
                raise DeckError(f"versions.env has no {match[1]}")
            return self.versions[match[1]]

        return VERSION.sub(value, line)

    def steps(self, page: str) -> str:
        """The lab's steps, included from the exercise page: its `### ` headings, else the first command of each
        bash block (each block is a step; the page has the rest)."""
        text = read_source(self.root, page)
        link = f"Lab: [{page}]({self.link(page)})"
        headings = step_headings(text)
        if headings:
            return link + "\n\n" + "\n".join(f"- {heading}" for heading in headings)  # numbered: `### 3.1 ...`
        blocks = bash_blocks(text)
        if not blocks:
            raise IncludeError(f"{page}: no `### ` step headings and no `$ ` commands")
        # Raw <pre>, not a code fence: a long command wraps (theme.css) instead of Marp shrinking the whole block.
        body = "\n".join(f"$ {html.escape(block[0])}" for block in blocks)
        return f'{link}\n\n<pre class="steps"><code>{body}</code></pre>'

    def check_links(self, line: str) -> str:
        """Repo links rewritten for the built deck; linked files and diagram sources must exist."""
        for match in DIAGRAM.finditer(line):
            if not (self.diagrams_dir / f"{match[1]}.dot").is_file():
                raise IncludeError(f"slides/diagrams/{match[1]}.dot: no such diagram source")

        def rewrite(match: re.Match[str]) -> str:
            read_source(self.root, match[1])  # must exist
            return f"]({self.link(match[1])}{match[2] or ''})"

        return REPO_LINK.sub(rewrite, line)

    def expand_line(self, line: str) -> str:
        """One line of a slide: versions first (so included code is never touched), then its directive or links."""
        line = self.substitute_versions(line)
        directive = DIRECTIVE.match(line.strip())
        if not directive:
            return self.check_links(line)
        if directive[1] == "steps":
            return self.steps((directive[2] or "").strip())
        if directive[1] == "spine":
            module = (directive[2] or "").strip()
            if module and not module.isdigit():
                raise DeckError(f"spine: {module!r} is not a module number")
            return self.spine.table(int(module) if module else None)
        include = parse_include(directive[2] or "")
        if directive[1] == "render":
            if include.path not in self.rendered:
                self.rendered[include.path] = forge_render(self.root, include.path)
            text, include = self.rendered[include.path], replace(include, lang=include.lang or "yaml")
        else:
            text = read_source(self.root, include.path)
        return code_block(include, textwrap.dedent(region(text, include)))

    def slide(self, text: str) -> tuple[str, float]:
        """The expanded slide and its timing in minutes; an error carries the line it is on."""
        out = []
        for offset, line in enumerate(text.splitlines()):
            try:
                out.append(self.expand_line(line))
            except (IncludeError, DeckError, spine.SpineError) as err:
                raise DirectiveError(offset, str(err)) from None
        timings = [float(t) for note in NOTE.findall(text) for t in TIMING.findall(note)]
        if len(timings) != 1:
            raise DeckError(f"needs one speaker note timing like [2 min], has {len(timings)}")
        return "\n".join(out), timings[0]


def assemble(fragments: list[Path], assembler: Assembler) -> Deck:
    """Every fragment's slides, in order, expanded; errors name `slide N (fragment:line)`."""
    slides, minutes, diagrams = [], 0.0, set()
    for fragment in fragments:
        for line, text in split_slides(fragment.read_text(encoding="utf-8")):
            try:
                expanded, timing = assembler.slide(text)
            except (IncludeError, DeckError) as err:
                where = f"{fragment.relative_to(assembler.root)}:{line + getattr(err, 'offset', 0)}"
                raise DeckError(f"slide {len(slides) + 1} ({where}): {err}") from None
            slides.append(expanded.strip("\n"))
            minutes += timing
            diagrams.update(DIAGRAM.findall(expanded))
    return Deck("\n\n---\n\n".join(slides) + "\n", len(slides), minutes, diagrams)
