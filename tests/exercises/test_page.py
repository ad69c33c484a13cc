"""The page parser (exercises/lab/page.py): steps, `$ ` lines, exemptions, check/solve/reset blocks, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from exercises.lab.page import Line, PageError, parse, read

pytestmark = pytest.mark.unit

PAGE = """\
# 7. A page

**Goal:** test the parser. About 12 minutes.

```reset
kubectl delete pod a --ignore-not-found
```

## Steps

### First step

```bash
$ kubectl get nodes
NAME   STATUS
$ kubectl apply \\
    -f x.yaml \\
    --dry-run=client
```

```yaml
$ not-bash
```

```check
kubectl get pod a
```

> **Hint:** run the
> apply line.

```solve
kubectl apply -f x.yaml
```

### Second step

````bash
$ kubectl get pods --watch
# not replayed: a watch never ends
# replay runs: kubectl wait --for=condition=Ready pod/a
# replay runs: kubectl get pods
$ echo '```'
````

```check
test -n "$(kubectl get pods -o name)"
```

> **Hint:** wait.

```solve
true
```

## Check

```check
kubectl get pod a
```
"""


def test_a_page_with_its_steps_lines_and_scripts() -> None:
    page = parse(PAGE, Path("07-a.md"))
    assert (page.number, page.title, page.minutes) == (7, "A page", 12)
    assert page.reset.text == "kubectl delete pod a --ignore-not-found\n"
    assert page.check.text == "kubectl get pod a\n"
    first, second = page.steps
    assert (first.id, first.title, first.number) == ("7.1", "First step", 11)
    assert first.lines == (Line("kubectl get nodes", 14), Line("kubectl apply -f x.yaml --dry-run=client", 16))
    assert first.check.text == "kubectl get pod a\n" and first.solve.text == "kubectl apply -f x.yaml\n"
    assert first.hint == "run the apply line."
    assert second.lines == (
        Line("kubectl get pods --watch", 39, "a watch never ends",
             ("kubectl wait --for=condition=Ready pod/a", "kubectl get pods")),
        Line("echo '```'", 43),
    )
    assert second.lines[0].replayed == ("kubectl wait --for=condition=Ready pod/a", "kubectl get pods")
    assert second.lines[1].replayed == ("echo '```'",)
    assert page.lines == [*first.lines, *second.lines]


def replace(old: str, new: str) -> str:
    assert old in PAGE
    return PAGE.replace(old, new, 1)


@pytest.mark.parametrize("text, error", [
    (replace("# 7. A page", "# A page"), "line 1: the page must start with `# N. Title`"),
    (replace("```solve\nkubectl apply -f x.yaml\n```\n", ""), "line 11: step 7.1 `First step` has no ```solve"),
    (replace("```check\nkubectl get pod a\n```\n\n> **Hint:** run", "> **Hint:** run"), "has no ```check"),
    (replace("> **Hint:** wait.\n", ""), "line 36: step 7.2 `Second step` has no `> **Hint:**` line"),
    (replace("```reset\nkubectl delete pod a --ignore-not-found\n```\n", ""), "page 7 has no ```reset block"),
    (replace("## Check\n\n```check\nkubectl get pod a\n```\n", ""), "page 7 has no ```check block under"),
    (replace("## Steps\n", "## Steps\n\n```bash\n$ early\n```\n"), "line 11: `$ ` commands outside a `### ` step"),
    (replace("    --dry-run=client\n", "    --dry-run=client \\\n"), "line 16: command ends with a backslash"),
    (replace("# not replayed: a watch never ends\n", ""), "line 40: `# replay runs:` without"),
    (replace("# replay runs: kubectl wait --for=condition=Ready pod/a\n# replay runs: kubectl get pods\n", ""),
     "line 39: exempt, but no `# replay runs:` line follows"),
    (replace("```check\ntest -n", "```check\n! kubectl get pods\ntest -n"), "line 47: `! command` never fails"),
    (replace("```solve\ntrue\n```\n", "```solve\ntrue\n```\n\n```solve\ntrue\n```\n"), "a second ```solve block"),
    (PAGE + "```bash\n$ a\n", "unclosed ``` fence"),
])
def test_malformed_pages_name_the_line(text: str, error: str) -> None:
    with pytest.raises(PageError) as raised:
        parse(text)
    assert error in str(raised.value)


def test_read_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "07-a.md"
    path.write_text(PAGE.replace("> **Hint:** wait.\n", ""))
    with pytest.raises(PageError) as raised:
        read(path)
    assert str(raised.value).startswith(f"{path}:36: step 7.2")
