"""Which programs a shell line calls (exercises/lab/words.py): used to check forge calls and to decide what
runs on the local platform."""

from __future__ import annotations

import pytest

from exercises.lab.words import program_calls, simple_commands

pytestmark = pytest.mark.unit


def test_simple_commands_split_pipes_lists_substitutions_and_drop_assignments_and_redirections() -> None:
    line = 'CANARY=true forge deploy qotm 2>&1 | tee /tmp/log && curl -s "$(forge url envoy)/qotm/" > /dev/null'
    assert simple_commands(line) == [
        ["forge", "url", "envoy"],
        ["forge", "deploy", "qotm"],
        ["tee", "/tmp/log"],
        ["curl", "-s", "$(forge url envoy)/qotm/"],
    ]


def test_keywords_are_not_programs() -> None:
    assert simple_commands("if ! git diff --quiet; then time curl -s x; fi") == [
        ["git", "diff", "--quiet"], ["curl", "-s", "x"]]
    assert simple_commands("while read -r p; do forge delete qotm --profile \"$p\"; done") == [
        ["read", "-r", "p"], ["forge", "delete", "qotm", "--profile", "$p"]]


def test_program_calls() -> None:
    lines = ["forge list && kubectl get pods", "A=1 forge render qotm --canary | grep image"]
    assert program_calls(lines, "forge") == [
        ("forge list && kubectl get pods", ["list"]),
        ("A=1 forge render qotm --canary | grep image", ["render", "qotm", "--canary"]),
    ]
