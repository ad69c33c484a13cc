"""Which programs a shell line calls (exercises/lab/words.py): used to check forge calls and to decide what
runs on the local platform."""

from __future__ import annotations

import pytest

from exercises.lab.words import program_calls, script_commands, simple_commands

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


def test_script_commands_keep_a_multi_line_quoted_program_together() -> None:
    script = ("kubectl get pods\n\n# a comment\nawk '\n  /x/ { n++ }\n  END { exit !n }'\n"
              "for a in b; do\n  echo \"$a\"\ndone\n")
    assert script_commands(script) == ["kubectl get pods", "awk '\n  /x/ { n++ }\n  END { exit !n }'", "for a in b; do",
                                       '  echo "$a"', "done"]
    assert simple_commands(script_commands(script)[1])[0][0] == "awk"
