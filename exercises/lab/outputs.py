"""What a page shows a command printing, against what it printed: the replay fails when they drift apart.

A page's bash block shows a command's output as the lines after its `$ ` line. They must be the whole output,
except where the page elides: a line `...` stands for any number of lines, and `...` inside a line for any text.
Fields that differ from run to run are masked on both sides before comparing: pod and container names, IP
addresses, image digests, times and durations, decimal numbers (latencies, rates), ages (`2 seconds ago`). A
count that varies (requests per status code) is written `...` on the page.
kubectl's own `websocket.go ... Unknown stream id` log line is not part of a command's output.
"""

from __future__ import annotations

import difflib
import re

ELLIPSIS = "..."
MASKS = (
    (re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<time>"),
    (re.compile(r"sha256:[0-9a-f]{64}"), "sha256:<digest>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<digest>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    # a pod of a Deployment (name-<replicaset hash>-<5>), of a bare ReplicaSet or Job (name-<5>)
    (re.compile(r"\b([a-z][a-z0-9-]*?)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}\b"),
     r"\1-<pod>"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "<id>"),  # a container id, as `hostname` and `docker ps` show it
    (re.compile(r"\b(?:(?:About an?|\d+) (?:seconds?|minutes?|hours?|days?)|Less than a second) ago\b"), "<age> ago"),
    (re.compile(r"\b\d+(?:\.\d+)?(?:ms|µs|us|s|m|h)\b"), "<duration>"),
    (re.compile(r"\b\d+\.\d+\b"), "<number>"),
)


# kubectl's own log line on stderr when its WebSocket stream (exec, port-forward) races a frame at the end: a known
# client-side message that changes nothing in what the command did; a participant may see it too.
KUBECTL_NOISE = re.compile(r"^[EWI]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ websocket\.go:\d+\] "
                           r"Unknown stream id \d+, discarding message$")


def mask(line: str) -> str:
    """The line with its run-to-run fields replaced by placeholders."""
    line = line.rstrip()
    for pattern, placeholder in MASKS:
        line = pattern.sub(placeholder, line)
    return line


def _line_pattern(shown: str) -> re.Pattern[str]:
    """A shown line as a pattern: masked, with `...` inside it matching any text."""
    parts = mask(shown).split(ELLIPSIS)
    return re.compile(".*?".join(re.escape(part) for part in parts) + r"\Z", re.S)


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _printed(actual: str) -> list[str]:
    """What a command printed, masked, without kubectl's stream message: the lines compared and diffed."""
    return [mask(line) for line in _lines(actual) if not KUBECTL_NOISE.match(line)]


def matches(shown: list[str] | tuple[str, ...], actual: str) -> bool:
    """Whether the output a page shows is what `actual` says, masked, with the page's `...` elisions."""
    patterns = [None if line.strip() == ELLIPSIS else _line_pattern(line) for line in _lines("\n".join(shown))]
    lines = _printed(actual)

    def fits(p: int, a: int, memo: dict[tuple[int, int], bool]) -> bool:
        if (p, a) not in memo:
            if p == len(patterns):
                memo[p, a] = a == len(lines)
            elif patterns[p] is None:  # `...` alone: any number of lines
                memo[p, a] = fits(p + 1, a, memo) or (a < len(lines) and fits(p, a + 1, memo))
            else:
                memo[p, a] = a < len(lines) and bool(patterns[p].match(lines[a])) and fits(p + 1, a + 1, memo)
        return memo[p, a]

    return fits(0, 0, {})


def drift(shown: list[str] | tuple[str, ...], actual: str) -> str | None:
    """None when the page's output is true; otherwise a diff of the page's lines against the actual ones (masked)."""
    if matches(shown, actual):
        return None
    diff = difflib.unified_diff([mask(line) for line in _lines("\n".join(shown))],
                                _printed(actual), "the page shows", "the command printed",
                                lineterm="", n=2)
    return "\n".join(diff)
