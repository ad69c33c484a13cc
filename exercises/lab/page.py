"""One exercise page, parsed: its steps, what participants type, and the scripts `lab` runs.

The format (exercises/README.md has the participant-facing version):
- `# N. Title`; a line `About N minutes` gives the page's measured time.
- A ```` ```reset ```` block (anywhere outside the steps): what `lab reset` runs to undo this page's changes.
- Every `### ` heading is a step. In a step: ```` ```bash ```` blocks whose `$ ` lines are what participants type
  (other lines are expected output; a trailing `\\` continues the command), one ```` ```check ```` block (a
  script; exit 0 means the step is done), a `> **Hint:** ...` blockquote (shown when the check fails) and one
  ```` ```solve ```` block (a script that brings the participant from the step's start to its end).
- A `$ ` line that cannot run non-interactively is followed, in its block, by `# not replayed: REASON` and one
  or more `# replay runs: COMMAND` lines: what the replay runs in its place.
- The `## Check` section's ```` ```check ```` block says the whole page is done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w-]*)")
TITLE = re.compile(r"^# (\d+)\. (.+)$")
MINUTES = re.compile(r"\bAbout (\d+) minutes\b")
PROMPT = "$ "
NOT_REPLAYED = "# not replayed: "
REPLAY_RUNS = "# replay runs: "
HINT = "> **Hint:**"
SCRIPTS = ("check", "solve", "reset")


class PageError(ValueError):
    """A malformed page; the message starts with `line N:` (and the file, from `read`)."""


@dataclass(frozen=True)
class Line:
    """One command as the participant types it, and what the replay runs for it."""

    command: str
    number: int  # 1-based line of its `$ ` in the page
    exempt: str | None = None  # why it is not replayed as written
    instead: tuple[str, ...] = ()  # the non-interactive equivalent, run in its place

    @property
    def replayed(self) -> tuple[str, ...]:
        return self.instead if self.exempt else (self.command,)


@dataclass(frozen=True)
class Script:
    """The body of a check, solve or reset block, run as one bash script."""

    text: str
    number: int  # line of the opening fence


@dataclass(frozen=True)
class Step:
    page: int
    index: int  # 1-based within the page
    title: str
    number: int  # line of the `### ` heading
    lines: tuple[Line, ...]
    check: Script
    solve: Script
    hint: str

    @property
    def id(self) -> str:
        return f"{self.page}.{self.index}"


@dataclass(frozen=True)
class Page:
    number: int
    title: str
    path: Path
    minutes: int | None
    reset: Script
    check: Script
    steps: tuple[Step, ...]

    @property
    def lines(self) -> list[Line]:
        return [line for step in self.steps for line in step.lines]


@dataclass
class _Draft:
    """A step while its section is being read."""

    title: str
    number: int
    lines: list[Line] = field(default_factory=list)
    scripts: dict[str, Script] = field(default_factory=dict)
    hint: list[str] = field(default_factory=list)


def _bash_lines(body: list[tuple[int, str]]) -> list[Line]:
    """The `$ ` commands of a bash block with their exemptions."""
    lines: list[Line] = []
    pending: list[str] = []
    start = 0
    for number, text in body:
        if pending:
            pending.append(text.strip())
        elif text.startswith(PROMPT):
            pending, start = [text[len(PROMPT) :].strip()], number
        elif text.startswith(NOT_REPLAYED):
            if not lines or lines[-1].exempt:
                raise PageError(f"line {number}: `{NOT_REPLAYED.strip()}` must follow the `$ ` line it exempts")
            lines[-1] = Line(lines[-1].command, lines[-1].number, text[len(NOT_REPLAYED) :].strip())
        elif text.startswith(REPLAY_RUNS):
            if not lines or not lines[-1].exempt:
                raise PageError(f"line {number}: `{REPLAY_RUNS.strip()}` without a `{NOT_REPLAYED.strip()}` line")
            last = lines[-1]
            lines[-1] = Line(last.command, last.number, last.exempt, (*last.instead, text[len(REPLAY_RUNS) :]))
        if pending and pending[-1].endswith("\\"):
            pending[-1] = pending[-1][:-1].rstrip()
            continue
        if pending:
            lines.append(Line(" ".join(p for p in pending if p), start))
            pending = []
    if pending:
        raise PageError(f"line {start}: command ends with a backslash but the block closes")
    for line in lines:
        if line.exempt and not line.instead:
            raise PageError(f"line {line.number}: exempt, but no `{REPLAY_RUNS.strip()}` line follows")
    return lines


def _closes(line: str, marker: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(marker) and not stripped.strip(marker[0])


def shell_lines(text: str) -> list[Line]:
    """The `$ ` lines of every ```` ```bash ```` block of any Markdown (a page, the slide deck), in order."""
    lines: list[Line] = []
    fence: tuple[str, str, int] | None = None
    body: list[tuple[int, str]] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if fence is None:
            if opened := FENCE.match(line):
                fence, body = (opened.group(1), opened.group(2), n), []
        elif _closes(line, fence[0]):
            if fence[1] == "bash":
                lines += _bash_lines(body)
            fence = None
        else:
            body.append((n, line))
    if fence is not None:
        raise PageError(f"line {fence[2]}: unclosed {fence[0]} fence")
    return lines


def _finish(draft: _Draft, page: int, index: int) -> Step:
    where = f"line {draft.number}: step {page}.{index} `{draft.title}`"
    missing = [name for name in ("check", "solve") if name not in draft.scripts]
    if missing:
        raise PageError(f"{where} has no ```{missing[0]} block")
    if not draft.hint:
        raise PageError(f"{where} has no `{HINT}` line")
    return Step(page, index, draft.title, draft.number, tuple(draft.lines), draft.scripts["check"],
                draft.scripts["solve"], " ".join(draft.hint))


def parse(text: str, path: Path = Path("page.md")) -> Page:
    """The page in `text`; a PageError names the first thing wrong."""
    title_match = None
    steps: list[Step] = []
    draft: _Draft | None = None
    section = ""  # the current `## ` heading
    page_scripts: dict[str, Script] = {}
    fence: tuple[str, str, int] | None = None  # (marker, info, line) while inside a block
    body: list[tuple[int, str]] = []
    in_hint = False

    def number() -> int:
        if title_match is None:
            raise PageError("line 1: the page must start with `# N. Title`")
        return int(title_match.group(1))

    def close_block() -> None:
        assert fence is not None
        info, opened = fence[1], fence[2]
        if info == "bash":
            if draft is None and any(t.startswith(PROMPT) for _, t in body):
                raise PageError(f"line {opened}: `$ ` commands outside a `### ` step")
            if draft is not None:
                draft.lines.extend(_bash_lines(body))
        elif info in SCRIPTS:
            negated = [n for n, t in body if t.startswith("! ")]
            if negated:  # bash -e ignores the status of `! cmd`: such a check could never fail
                raise PageError(f"line {negated[0]}: `! command` never fails a script under `set -e`; write "
                                '`test -z "$(command)"` or an `if`')
            script = Script("\n".join(t for _, t in body) + "\n", opened)
            if info == "reset" or draft is None:
                target = page_scripts
                if info == "solve" or (info == "check" and section != "Check"):
                    raise PageError(f"line {opened}: a ```{info} block outside a `### ` step")
            else:
                target = draft.scripts
            if info in target:
                raise PageError(f"line {opened}: a second ```{info} block here (line {target[info].number})")
            target[info] = script

    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if fence is not None:
            if _closes(line, fence[0]):
                close_block()
                fence, body = None, []
            else:
                body.append((n, line))
            continue
        opened = FENCE.match(line)
        if opened:
            fence, in_hint = (opened.group(1), opened.group(2), n), False
            continue
        if n == 1:
            title_match = TITLE.match(line)
            number()
        if line.startswith("## ") or line.startswith("### "):
            if draft is not None:
                steps.append(_finish(draft, number(), len(steps) + 1))
                draft = None
            if line.startswith("### "):
                draft = _Draft(line[4:].strip(), n)
            else:
                section = line[3:].strip()
            in_hint = False
            continue
        if line.startswith(HINT):
            if draft is None:
                raise PageError(f"line {n}: a hint outside a `### ` step")
            draft.hint.append(line[len(HINT) :].strip())
            in_hint = True
        elif in_hint and line.startswith(">"):
            assert draft is not None
            draft.hint.append(line[1:].strip())
        else:
            in_hint = False
    if fence is not None:
        raise PageError(f"line {fence[2]}: unclosed {fence[0]} fence")
    if draft is not None:
        steps.append(_finish(draft, number(), len(steps) + 1))
    page = number()
    for name in ("reset", "check"):
        if name not in page_scripts:
            where = "under `## Check`" if name == "check" else "outside the steps"
            raise PageError(f"line 1: page {page} has no ```{name} block {where}")
    if not steps:
        raise PageError(f"line 1: page {page} has no `### ` steps")
    minutes = MINUTES.search(text)
    assert title_match is not None
    return Page(page, title_match.group(2).strip(), path, int(minutes.group(1)) if minutes else None,
                page_scripts["reset"], page_scripts["check"], tuple(steps))


def read(path: Path) -> Page:
    """The page at `path`; a malformed page names its file."""
    try:
        return parse(path.read_text(encoding="utf-8"), path)
    except PageError as err:
        raise PageError(f"{path}:{err}".replace(":line ", ":", 1)) from None
