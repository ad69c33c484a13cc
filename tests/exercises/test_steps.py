"""The step extractor (steps.py): which lines of an exercise page are commands, and which may be run."""

from __future__ import annotations

import pytest

from tests.exercises.steps import Step, extract, program_calls, simple_commands

pytestmark = pytest.mark.unit

PAGE = """\
# Title

```bash
$ kubectl get nodes
NAME   STATUS
not a command
$ kubectl apply \\
    -f qotm/kubernetes/deployment.yaml \\
    --dry-run=client
```

Text with $ a dollar, and an example that is not bash:

```yaml
$ not-bash
```

<!-- no-test -->

```bash
$ curl -s http://shopbox-control-plane:30080/
{"status":"ok"}
```

````bash
$ echo '```'
````
"""


def test_commands_in_page_order_with_lines_and_marking() -> None:
    assert extract(PAGE) == [
        Step("kubectl get nodes", 4, True),
        Step("kubectl apply -f qotm/kubernetes/deployment.yaml --dry-run=client", 7, True),
        Step("curl -s http://shopbox-control-plane:30080/", 21, False),
        Step("echo '```'", 26, True),
    ]


def test_no_test_applies_only_to_the_next_block() -> None:
    text = "<!-- no-test -->\n```bash\n$ a\n```\nText.\n```bash\n$ b\n```\n"
    assert [(s.command, s.testable) for s in extract(text)] == [("a", False), ("b", True)]


def test_no_test_must_directly_precede_the_fence() -> None:
    text = "<!-- no-test -->\nA paragraph in between.\n```bash\n$ a\n```\n"
    assert [s.testable for s in extract(text)] == [True]


def test_only_dollar_space_lines_are_commands() -> None:
    assert extract("```bash\n$kubectl\n $ indented\nkubectl get pods\n$ ok\n```\n") == [Step("ok", 5, True)]


@pytest.mark.parametrize(
    "text, error",
    [
        ("```bash\n$ a \\\n```\n", "line 2: command ends with a backslash"),
        ("```bash\n$ a\n", "unclosed ``` fence"),
    ],
)
def test_malformed_pages_are_errors(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        extract(text)


def test_simple_commands_split_pipes_lists_substitutions_and_drop_assignments_and_redirections() -> None:
    line = 'CANARY=true forge deploy qotm 2>&1 | tee /tmp/log && curl -s "$(forge url envoy)/qotm/" > /dev/null'
    assert simple_commands(line) == [
        ["forge", "url", "envoy"],
        ["forge", "deploy", "qotm"],
        ["tee", "/tmp/log"],
        ["curl", "-s", "$(forge url envoy)/qotm/"],
    ]


def test_program_calls() -> None:
    steps = extract("```bash\n$ forge list && kubectl get pods\n$ A=1 forge render qotm --canary | grep image\n```\n")
    assert [args for _, args in program_calls(steps, "forge")] == [["list"], ["render", "qotm", "--canary"]]
