"""The instructor's cluster-side checks: the steps' ```check``` scripts that test only cluster state, run against a
seat with the instructor's credentials, read-only (the stand-ins of classroom/dryrun.py refuse any command that is
not a read, so a check can change nothing). A check that reads the participant's files (`git diff`, a page's file),
talks to their port-forwards (`curl`, `forge url`) or runs a command in a pod (`kubectl exec`) is only checked in
the participant's shell, and `lab` records it there (exercises/lab/record.py).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from classroom import dryrun
from classroom.diagnose import Seat, sandbox
from exercises.lab.page import Page, Step
from exercises.lab.words import script_commands, simple_commands

CHECK_TIMEOUT = 30.0
PLAIN = {"test", "[", "[[", "true", "false", "echo", "printf", ":", "exit", "set"}
FILTERS = {"grep": 1, "awk": 1, "jq": 1, "sed": 1}  # programs reading stdin after this many arguments
READERS = {"cat", "head", "tail", "wc", "sort", "uniq", "cut", "tr"}
FILE_INPUT = re.compile(r"(?<![<])<(?![<(])\s*[\w./~$]")


def _split_substitutions(line: str) -> tuple[str, list[str]]:
    """The line with each `$(...)` replaced by a word, and the commands inside them (quotes and nested
    parentheses respected: `$(psql -c 'SELECT count(*)')`)."""
    outer, inner, index = [], [], 0
    while index < len(line):
        if line.startswith("$(", index):
            depth, quote, end = 1, "", index + 2
            while end < len(line) and depth:
                char = line[end]
                if quote:
                    quote = "" if char == quote else quote
                elif char in "'\"":
                    quote = char
                elif char == "(":
                    depth += 1
                elif char == ")":
                    depth -= 1
                end += 1
            inner.append(line[index + 2:end - 1])
            outer.append("SUBSTITUTED")
            index = end
        else:
            outer.append(line[index])
            index += 1
    return "".join(outer), inner


@dataclass(frozen=True)
class StepCheck:
    step: str
    title: str
    ok: bool | None  # None: not checked cluster-side
    why: str = ""  # shell-only: why; failed: the check's last output line


def _operands(args: list[str]) -> list[str]:
    return [word for word in args if not word.startswith("-")]


def _commands(line: str) -> list[list[str]]:
    """The simple commands of a line, those in `$(...)` included (`x=$(a b)` is an assignment, not a call of `b`)."""
    outer, inner = _split_substitutions(line)
    return simple_commands(outer) + [words for text in inner for words in _commands(text)]


def shell_only(script: str) -> str | None:
    """Why this check runs only in the participant's shell (None: it tests cluster state only)."""
    if FILE_INPUT.search(re.sub(r"'[^']*'|\"[^\"]*\"", "''", script)):
        return "reads a file of the participant's"
    for line in script_commands(script):  # a quoted awk or jq program over several lines is one command
        for words in _commands(line):
            program, args = words[0], words[1:]
            if program in PLAIN:
                continue
            if program == "kubectl":
                name = dryrun.verb(args, dryrun.KUBECTL_VALUE_FLAGS)[0]
                if name in ("exec", "port-forward", "attach", "cp"):
                    return f"`kubectl {name}` runs in a pod"
                if dryrun.read_only_action("kubectl", args).kind != "run":
                    return f"`kubectl {name}` is not a read"
            elif program == "forge":
                if dryrun.read_only_action("forge", args).kind != "run":
                    return f"`forge {args[0] if args else ''}` reads the participant's files or port-forwards"
            elif program in FILTERS:
                if len(_operands(args)) > FILTERS[program]:
                    return f"`{program}` reads a file of the participant's"
            elif program in READERS:
                if _operands(args):
                    return f"`{program}` reads a file of the participant's"
            else:
                return f"`{program}` runs in the participant's shell"
    return None


def run_check(step: Step, seat: Seat, root: Path, environ: dict[str, str] | None = None) -> StepCheck:
    """The step's check against the seat, read-only (only for a check `shell_only` clears)."""
    why = shell_only(step.check.text)
    if why:
        return StepCheck(step.id, step.title, None, why)
    with sandbox(root, seat, environ, copy=False) as (empty, env):
        env[dryrun.READ_ONLY] = "1"
        try:
            done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + step.check.text], cwd=empty, env=env,
                                  capture_output=True, text=True, timeout=CHECK_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return StepCheck(step.id, step.title, False, f"no answer within {CHECK_TIMEOUT:.0f} s")
    last = (done.stderr or done.stdout).strip().splitlines()
    return StepCheck(step.id, step.title, done.returncode == 0, "" if done.returncode == 0 else
                     (last[-1] if last else f"exit {done.returncode}"))


def page_checks(page: Page, seat: Seat, root: Path, environ: dict[str, str] | None = None) -> list[StepCheck]:
    return [run_check(step, seat, root, environ) for step in page.steps]
