""".dockerignore: which files of a build context the Docker SDK sends to the engine.

The rules are the Docker SDK's (docker/utils/build.py, `exclude_paths`, version pinned in pyproject.toml), written
here so that computing a version (`forge render`) does not import the SDK and the HTTP stack under it.
tests/forge/test_dockerignore.py compares the result with the SDK's own function over a table of patterns, so a
difference shows up as a failing test, not as an image whose tag does not match its content.

The SDK's rules, in short: patterns are normalised (`.`, empty and leading/trailing `/` components dropped, `..`
removes the component before it); `*` and `?` do not match `/`, `**` matches any number of components; matching
is case-insensitive; a pattern also matches everything below a directory it matches; the last matching pattern
wins, `!` re-includes; the Dockerfile and `.dockerignore` are always sent; an excluded directory is not entered
unless a `!` pattern starts with its path.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass


def _components(path: str) -> list[str]:
    return [part for part in path.split("/") if part and part != "."]


def _normalise(pattern: str) -> list[str]:
    parts = _components(pattern.strip())
    i = 0
    while i < len(parts):
        if parts[i] == "..":
            del parts[i]
            if i > 0:
                del parts[i - 1]
                i -= 1
        else:
            i += 1
    return parts


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex: `*` and `?` stop at `/`, `**` spans components, `[...]` as in fnmatch."""
    out, i, n = "^", 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            if i < n and pattern[i] == "*":
                i += 1
                if i < n and pattern[i] == "/":
                    i += 1
                out += ".*" if i >= n else "(.*/)?"
            else:
                out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            j = i + (i < n and pattern[i] == "!")
            j += j < n and pattern[j] == "]"
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                out += "\\["
            else:
                chars = pattern[i:j].replace("\\", "\\\\").replace("[", "\\[")  # a literal [, said plainly
                i = j + 1
                if chars[0] == "!":
                    chars = "^" + chars[1:]
                elif chars[0] == "^":
                    chars = "\\" + chars
                out += f"[{chars}]"
        else:
            out += re.escape(c)
    return re.compile(out + "$")


@dataclass(frozen=True)
class _Pattern:
    exclusion: bool  # `!pattern`: send what it matches after all
    parts: tuple[str, ...]

    @property
    def text(self) -> str:
        return "/".join(self.parts)

    def match(self, path: str) -> bool:
        return _regex(self.text.lower()).match(path.lower()) is not None


class Matcher:
    """The patterns of one build context, plus the SDK's implicit ones (always send the Dockerfile and
    .dockerignore)."""

    def __init__(self, patterns: list[str], dockerfile: str):
        parsed = []
        for line in [*patterns, f"!{dockerfile}", "!.dockerignore"]:
            exclusion = line.startswith("!")
            parts = tuple(_normalise(line[1:] if exclusion else line))
            if parts:
                parsed.append(_Pattern(exclusion, parts))
        self.patterns = parsed

    def excluded(self, path: str) -> bool:
        """Whether `path` ('/'-separated, relative to the context) is left out; the last matching pattern wins."""
        parents = _components(os.path.dirname(path))
        excluded = False
        for pattern in self.patterns:
            hit = pattern.match(path)
            if not hit and parents and len(pattern.parts) <= len(parents):
                hit = pattern.match("/".join(parents[: len(pattern.parts)]))
            if hit:
                excluded = not pattern.exclusion
        return excluded

    def _may_reinclude_below(self, directory: str) -> bool:
        return any(p.exclusion and p.text.startswith(directory) for p in self.patterns)

    def included(self, root: str) -> set[str]:
        """Every path (files and directories, relative) below `root` that is sent."""
        found: set[str] = set()
        pending = [""]
        while pending:
            relative = pending.pop()
            for name in os.listdir(os.path.join(root, relative) if relative else root):
                path = f"{relative}/{name}" if relative else name
                excluded = self.excluded(path)
                if not excluded:
                    found.add(path)
                full = os.path.join(root, path)
                if os.path.isdir(full) and not os.path.islink(full) and (
                        not excluded or self._may_reinclude_below(path)):
                    pending.append(path)
        return found


def read_patterns(context: str) -> list[str]:
    """The patterns of `<context>/.dockerignore`, read as the SDK reads them for a build (comments and blank
    lines dropped)."""
    ignore_file = os.path.join(context, ".dockerignore")
    if not os.path.isfile(ignore_file):
        return []
    with open(ignore_file, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def included_paths(context: str, dockerfile: str) -> set[str]:
    """What the SDK's exclude_paths(context, patterns, dockerfile) returns: the paths the build sends."""
    return Matcher(read_patterns(context), dockerfile).included(context)
