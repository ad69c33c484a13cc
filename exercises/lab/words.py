"""The simple commands inside a shell line, for tools that ask "which programs does this line call"."""

from __future__ import annotations

import re
import shlex

ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")
KEYWORDS = {"if", "then", "else", "elif", "fi", "while", "until", "do", "done", "!", "time"}


def simple_commands(command: str) -> list[list[str]]:
    """The words of each simple command in a shell line (split at `|`, `&&`, `||`, `;`, `&`), without leading
    `NAME=value` assignments, keywords (`if`, `do`, `!`, `time`...) and redirections (`> file`); `$(...)`
    substitutions are commands of their own."""
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
        while words and (ASSIGNMENT.fullmatch(words[0]) or words[0] in KEYWORDS):
            words.pop(0)
        if words:
            result.append(words)
    return result


def program_calls(commands: list[str], program: str) -> list[tuple[str, list[str]]]:
    """(line, arguments) for every call of `program` (a simple command's first word) in the lines."""
    return [(line, words[1:]) for line in commands for words in simple_commands(line) if words[0] == program]


def script_commands(text: str) -> list[str]:
    """The commands of a script, one per entry: its lines, except that a quoted argument spanning lines (a
    multi-line awk or jq program) keeps them together; blank and comment lines are left out."""
    commands: list[str] = []
    pending = ""
    for line in text.splitlines():
        pending = f"{pending}\n{line}" if pending else line
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        if pending.strip() and not pending.lstrip().startswith("#"):
            commands.append(pending)
        pending = ""
    if pending.strip():
        commands.append(pending)
    return commands
