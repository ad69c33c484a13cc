"""One exercise page, parsed: its steps, what participants type, and the scripts `lab` runs.

The format (exercises/README.md has the participant-facing version). What `lab` runs and the replay needs is kept
in HTML comments, which a Markdown renderer does not show: a participant reads the steps, not their machinery.
- `# N. Title`; a line `About N minutes` gives the page's time.
- A `<!-- lab reset` comment (anywhere outside the steps): what `lab reset` runs to undo this page's changes.
- Every `### N.M Title` heading is step M of page N (the numbers are checked). In a step: ```` ```bash ````
  blocks whose `$ ` lines are what participants type (other lines are expected output; a trailing `\\`
  continues the command), a `> **Hint:** ...` blockquote (shown when the check fails), one `<!-- lab check`
  comment (a script; exit 0 means the step is done) and one `<!-- lab solve` comment (a script that brings the
  participant from the step's start to its end).
- A `$ ` line that cannot run non-interactively (an editor, a watch) is the last `$ ` line of its bash block,
  and a `<!-- lab replay: REASON` comment right after the block holds, one a line, what the replay runs in its
  place.
- The `## Check` section's `<!-- lab check` comment says the whole page is done.
A comment opens with `<!-- lab KIND` on a line of its own and closes with a line `-->`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w-]*)")
TITLE = re.compile(r"^# (\d+)\. (.+)$")
STEP = re.compile(r"^### (?:(\d+)\.(\d+) )?(.*)$")
MINUTES = re.compile(r"\bAbout (\d+) minutes\b")
COMMENT = re.compile(r"^<!-- lab (\w+)(?::\s*(.*?))?\s*$")
CLOSE = "-->"
PROMPT = "$ "
HINT = "> **Hint:**"
SCRIPTS = ("check", "solve", "reset")
KINDS = (*SCRIPTS, "replay")


class PageError(ValueError):
    """A malformed page; the message starts with `line N:` (and the file, from `read`)."""


@dataclass(frozen=True)
class Line:
    """One command as the participant types it, and what the replay runs for it."""

    command: str
    number: int  # 1-based line of its `$ ` in the page
    exempt: str | None = None  # why it is not replayed as written
    instead: tuple[str, ...] = ()  # the non-interactive equivalent, run in its place
    shown: tuple[str, ...] = ()  # the output the page shows under it (exercises/lab/outputs.py)

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
    """The `$ ` commands of a bash block, each with the output lines the block shows after it."""
    lines: list[Line] = []
    pending: list[str] = []
    start = 0
    for number, text in body:
        if pending:
            pending.append(text.strip())
        elif text.startswith(PROMPT):
            pending, start = [text[len(PROMPT) :].strip()], number
        elif lines:
            last = lines[-1]
            lines[-1] = Line(last.command, last.number, shown=(*last.shown, text))
            continue
        if pending and pending[-1].endswith("\\"):
            pending[-1] = pending[-1][:-1].rstrip()
            continue
        if pending:
            lines.append(Line(" ".join(p for p in pending if p), start))
            pending = []
    if pending:
        raise PageError(f"line {start}: command ends with a backslash but the block closes")
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
        raise PageError(f"{where} has no `<!-- lab {missing[0]}` comment")
    if not draft.hint:
        raise PageError(f"{where} has no `{HINT}` line")
    return Step(page, index, draft.title, draft.number, tuple(draft.lines), draft.scripts["check"],
                draft.scripts["solve"], " ".join(draft.hint))


@dataclass
class _Comment:
    """A `<!-- lab KIND` comment while its lines are being read."""

    kind: str
    note: str  # the text after `KIND:` on the opening line (a replay's reason)
    number: int
    body: list[tuple[int, str]] = field(default_factory=list)


def _script(comment: _Comment) -> Script:
    negated = [n for n, t in comment.body if t.startswith("! ")]
    if negated:  # bash -e ignores the status of `! cmd`: such a check could never fail
        raise PageError(f"line {negated[0]}: `! command` never fails a script under `set -e`; write "
                        '`test -z "$(command)"` or an `if`')
    return Script("\n".join(t for _, t in comment.body) + "\n", comment.number)


def parse(text: str, path: Path = Path("page.md")) -> Page:
    """The page in `text`; a PageError names the first thing wrong."""
    title_match = None
    steps: list[Step] = []
    draft: _Draft | None = None
    section = ""  # the current `## ` heading
    page_scripts: dict[str, Script] = {}
    fence: tuple[str, str, int] | None = None  # (marker, info, line) while inside a block
    comment: _Comment | None = None  # while inside a `<!-- lab` comment
    body: list[tuple[int, str]] = []
    in_hint = False
    after_bash = False  # only blank lines since a bash block closed: a replay comment may follow

    def number() -> int:
        if title_match is None:
            raise PageError("line 1: the page must start with `# N. Title`")
        return int(title_match.group(1))

    def close_block() -> None:
        assert fence is not None
        info, opened = fence[1], fence[2]
        if info in SCRIPTS:
            raise PageError(f"line {opened}: a ```{info} block: write it as a `<!-- lab {info}` comment (the "
                            "participant does not read it; exercises/README.md)")
        if info == "bash":
            if draft is None and any(t.startswith(PROMPT) for _, t in body):
                raise PageError(f"line {opened}: `$ ` commands outside a `### ` step")
            if draft is not None:
                draft.lines.extend(_bash_lines(body))

    def close_comment(done: _Comment, bash_before: bool) -> None:
        if done.kind == "replay":
            if draft is None or not bash_before or not draft.lines or draft.lines[-1].exempt:
                raise PageError(f"line {done.number}: a `<!-- lab replay` comment must follow (after blank lines "
                                "only) the bash block whose last `$ ` line it replaces")
            if not done.note:
                raise PageError(f"line {done.number}: `<!-- lab replay: REASON`: say why the line is not replayed")
            commands = tuple(t for _, t in done.body if t.strip())
            if not commands:
                raise PageError(f"line {done.number}: a `<!-- lab replay` comment without the commands to run")
            last = draft.lines[-1]
            draft.lines[-1] = Line(last.command, last.number, done.note, commands, last.shown)
            return
        script = _script(done)
        if done.kind == "reset" or draft is None:
            target = page_scripts
            if done.kind == "solve" or (done.kind == "check" and section != "Check"):
                raise PageError(f"line {done.number}: a `<!-- lab {done.kind}` comment outside a `### ` step")
        else:
            target = draft.scripts
        if done.kind in target:
            raise PageError(f"line {done.number}: a second `<!-- lab {done.kind}` comment here (line "
                            f"{target[done.kind].number})")
        target[done.kind] = script

    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if comment is not None:
            if line.strip() == CLOSE:
                close_comment(comment, after_bash)
                comment, after_bash = None, False
            elif CLOSE in line:
                raise PageError(f"line {n}: `{CLOSE}` inside a `<!-- lab {comment.kind}` comment ends it for a "
                                f"Markdown renderer, which then shows the rest; close it with `{CLOSE}` on a line of "
                                "its own")
            else:
                comment.body.append((n, line))
            continue
        if fence is not None:
            if _closes(line, fence[0]):
                after_bash = fence[1] == "bash"
                close_block()
                fence, body = None, []
            else:
                body.append((n, line))
            continue
        if opened_comment := COMMENT.match(line):
            kind = opened_comment.group(1)
            if kind not in KINDS:
                raise PageError(f"line {n}: `<!-- lab {kind}`: a lab comment is one of {', '.join(KINDS)}")
            if kind != "replay" and opened_comment.group(2):
                raise PageError(f"line {n}: `<!-- lab {kind}` takes nothing after it on its line")
            comment, in_hint = _Comment(kind, opened_comment.group(2) or "", n), False
            continue
        if line.startswith("<!-- lab"):
            raise PageError(f"line {n}: a lab comment opens with `<!-- lab KIND` alone on its line")
        if line.strip():
            after_bash = False
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
                draft = _step_heading(line, n, number(), len(steps) + 1)
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
    if comment is not None:
        raise PageError(f"line {comment.number}: `<!-- lab {comment.kind}` is never closed with `{CLOSE}`")
    if draft is not None:
        steps.append(_finish(draft, number(), len(steps) + 1))
    page = number()
    for name in ("reset", "check"):
        if name not in page_scripts:
            where = "under `## Check`" if name == "check" else "outside the steps"
            raise PageError(f"line 1: page {page} has no `<!-- lab {name}` comment {where}")
    if not steps:
        raise PageError(f"line 1: page {page} has no `### ` steps")
    minutes = MINUTES.search(text)
    assert title_match is not None
    return Page(page, title_match.group(2).strip(), path, int(minutes.group(1)) if minutes else None,
                page_scripts["reset"], page_scripts["check"], tuple(steps))


def _step_heading(line: str, n: int, page: int, index: int) -> _Draft:
    """`### N.M Title`: step M of page N, numbered as it comes."""
    match = STEP.match(line)
    assert match is not None
    if match.group(1) is None:
        raise PageError(f"line {n}: a step heading is `### {page}.{index} Title` (its number comes first)")
    if (int(match.group(1)), int(match.group(2))) != (page, index):
        raise PageError(f"line {n}: this heading says step {match.group(1)}.{match.group(2)}, but it is step "
                        f"{page}.{index} (steps are numbered in page order)")
    return _Draft(match.group(3).strip(), n)


def read(path: Path) -> Page:
    """The page at `path`; a malformed page names its file."""
    try:
        return parse(path.read_text(encoding="utf-8"), path)
    except PageError as err:
        raise PageError(f"{path}:{err}".replace(":line ", ":", 1)) from None
