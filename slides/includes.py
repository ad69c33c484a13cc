"""Include directives: code shown on a slide is cut from the project's files at build time.

A directive is one line of a slide, an HTML comment:

    <!-- include: PATH -->                              the whole file
    <!-- include: PATH lines=12-30 -->                  lines 12 to 30 (1-based, inclusive)
    <!-- include: PATH from="TEXT" to="TEXT" -->        from the first line containing `from` through the
                                                        first line at or after it containing `to`
    <!-- render: SERVICE_DIR from="TEXT" to="TEXT" -->  the same, cut from `forge render SERVICE_DIR`: what the
                                                        cluster gets (e.g. Envoy's config with its values filled in)
    <!-- steps: exercises/PAGE.md -->                   the lab's steps: the page's `### ` headings (a page
                                                        without them: the first command of each bash block)
    <!-- spine: N -->                                   the day's table (slides/spine.yaml), module N's cells
                                                        marked; `<!-- spine -->`: the whole table

The slide shows the selected lines with their common indentation removed (textwrap.dedent).
`lang=NAME` overrides the code fence's language (guessed from the file name otherwise). PATH is relative to the
repository root. A missing file, a line range past the end or a marker text that is gone is an IncludeError.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

DIRECTIVE = re.compile(r"^<!--\s*(include|render|steps|spine)(?::\s*(.*?))?\s*-->\s*$")
FENCE = re.compile(r"^(`{3,}|~{3,})")
LANGUAGES = {".py": "python", ".yaml": "yaml", ".yml": "yaml", ".j2": "yaml", ".sh": "bash"}  # else lang=...


class IncludeError(Exception):
    """A directive that cannot be expanded; the message names the file and what is missing."""


@dataclass(frozen=True)
class Include:
    """One parsed `include:` directive."""

    path: str
    lines: tuple[int, int] | None = None
    start: str | None = None
    end: str | None = None
    lang: str | None = None


def parse_include(arguments: str) -> Include:
    """`PATH [lines=A-B | from="X" to="Y"] [lang=L]` -> Include."""
    try:
        words = shlex.split(arguments)
    except ValueError as err:
        raise IncludeError(f"include: {arguments!r}: {err}") from None
    if not words:
        raise IncludeError("include: no path given")
    path, options = words[0], {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or key not in ("lines", "from", "to", "lang"):
            raise IncludeError(f"include: {path}: unknown option {word!r} (lines=A-B, from=TEXT, to=TEXT, lang=L)")
        options[key] = value
    lines = None
    if "lines" in options:
        match = re.fullmatch(r"(\d+)-(\d+)", options["lines"])
        if not match or int(match[1]) < 1 or int(match[1]) > int(match[2]):
            raise IncludeError(f"include: {path}: lines={options['lines']!r} is not a range like 12-30")
        lines = (int(match[1]), int(match[2]))
    if ("from" in options) != ("to" in options):
        raise IncludeError(f"include: {path}: from= and to= go together")
    if lines and "from" in options:
        raise IncludeError(f"include: {path}: lines= or from=/to=, not both")
    return Include(path, lines, options.get("from"), options.get("to"), options.get("lang"))


def read_source(root: Path, relative: str) -> str:
    """The text of a project file; the path must stay inside the repository."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise IncludeError(f"{relative}: outside the repository")
    if not path.is_file():
        raise IncludeError(f"{relative}: no such file")
    return path.read_text(encoding="utf-8")


def region(text: str, include: Include) -> str:
    """The lines of `text` the include selects, without a trailing newline."""
    lines = text.splitlines()
    if include.lines:
        first, last = include.lines
        if last > len(lines):
            raise IncludeError(f"{include.path}: lines={first}-{last} but the file has {len(lines)} lines")
        return "\n".join(lines[first - 1 : last])
    if include.start is None or include.end is None:
        return "\n".join(lines)
    begin = next((i for i, line in enumerate(lines) if include.start in line), None)
    if begin is None:
        raise IncludeError(f"{include.path}: marker from={include.start!r} not found")
    end = next((i for i in range(begin, len(lines)) if include.end in lines[i]), None)
    if end is None:
        raise IncludeError(f"{include.path}: marker to={include.end!r} not found after from={include.start!r}")
    return "\n".join(lines[begin : end + 1])


def code_block(include: Include, body: str) -> str:
    """A fenced block (long enough to hold any backticks in the body) captioned with the file's path."""
    lang = include.lang or LANGUAGES.get(Path(include.path).suffix, "")
    fence = "```"
    while fence in body:
        fence += "`"
    return f"{fence}{lang}\n{body}\n{fence}"


def step_headings(text: str) -> list[str]:
    """The `### ` headings of an exercise page (outside code blocks), in page order."""
    headings, fence = [], None
    for line in text.splitlines():
        opened = FENCE.match(line.strip())
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            fence = None
        elif fence is None and line.startswith("### "):
            headings.append(line[4:].strip())
    return headings


def bash_blocks(text: str) -> list[list[str]]:
    """The `$ ` commands of each ```bash block of an exercise page (continuations joined), in page order."""
    blocks: list[list[str]] = []
    fence, in_bash, pending = None, False, ""
    for raw in text.splitlines():
        line = raw.rstrip()
        opened = FENCE.match(line.strip())
        if fence is None:
            if opened:
                fence, in_bash = opened.group(1), line.strip()[len(opened.group(1)) :].startswith("bash")
                blocks.append([])
            continue
        if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            fence = None
            continue
        if in_bash and (pending or line.startswith("$ ")):
            pending = f"{pending} {line.strip()}" if pending else line[2:].strip()
            if pending.endswith("\\"):
                pending = pending[:-1].rstrip()
                continue
            blocks[-1].append(pending)
            pending = ""
    return [block for block in blocks if block]
