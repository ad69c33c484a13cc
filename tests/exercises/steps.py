"""The commands of an exercise page: every `$ `-prefixed line of its ```bash blocks, in page order.

Conventions (documented in exercises/README.md):
- Only fences whose info string starts with `bash` count; other lines in them (no `$ `) are expected output.
- A line ending in a backslash continues on the next line; the pieces are joined with one space.
- `<!-- no-test -->` as the last non-blank line before a fence marks that block not testable (curl to a
  NodePort, `kubectl logs`, anything the simulated cluster cannot do): its steps have `testable=False`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\S*)")
NO_TEST = "<!-- no-test -->"
PROMPT = "$ "
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")


@dataclass(frozen=True)
class Step:
    """One command as the participant types it."""

    command: str
    line: int  # 1-based line of its `$ ` in the page
    testable: bool


def extract(text: str) -> list[Step]:
    """Every command of the page's bash blocks, in order."""
    steps: list[Step] = []
    fence: str | None = None  # the opening fence while inside a block
    in_bash = testable = False
    previous = ""  # last non-blank line outside a block
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if fence is None:
            opened = FENCE.match(line)
            if opened:
                fence, in_bash = opened.group(1), opened.group(2).split(",")[0] == "bash"
                testable = previous.strip() != NO_TEST
            elif line.strip():
                previous = line
            continue
        if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            if pending:
                raise ValueError(f"line {start}: command ends with a backslash but the block closes")
            fence, previous = None, ""
            continue
        if not in_bash:
            continue
        if pending:
            pending.append(line.strip())
        elif line.startswith(PROMPT):
            pending, start = [line[len(PROMPT) :].strip()], number
        if pending and pending[-1].endswith("\\"):
            pending[-1] = pending[-1][:-1].rstrip()
            continue
        if pending:
            steps.append(Step(" ".join(p for p in pending if p), start, testable))
            pending = []
    if fence is not None:
        raise ValueError(f"unclosed {fence} fence")
    return steps


def read(path: Path) -> list[Step]:
    """The steps of the page at `path`; a malformed page names itself."""
    try:
        return extract(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def simple_commands(command: str) -> list[list[str]]:
    """The words of each simple command in a shell line (split at `|`, `&&`, `||`, `;`, `&`), without leading
    `NAME=value` assignments and redirections (`> file`); `$(...)` substitutions are commands of their own."""
    result = [words for m in re.finditer(r"\$\(([^()]*)\)", command) for words in simple_commands(m.group(1))]
    unnumbered = re.sub(r"(?<![\w-])\d+(?=[<>])", "", command)  # `2>&1` -> `>&1`
    lexer = shlex.shlex(unnumbered, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    redirect = False
    for word in lexer:
        if redirect:
            redirect = False
        elif set(word) & set("<>"):
            redirect = True
        elif set(word) <= set(";&|"):
            commands.append([])
        else:
            commands[-1].append(word)
    for words in commands:
        while words and ASSIGNMENT.fullmatch(words[0]):
            words.pop(0)
        if words:
            result.append(words)
    return result


def program_calls(steps: list[Step], program: str) -> list[tuple[Step, list[str]]]:
    """(step, arguments) for every call of `program` (its first word) in the steps."""
    return [(step, words[1:]) for step in steps for words in simple_commands(step.command) if words[0] == program]
