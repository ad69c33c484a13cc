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
