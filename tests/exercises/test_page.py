"""The page parser (exercises/lab/page.py): numbered steps, `$ ` lines, replay comments, check/solve/reset comments,
errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from exercises.lab.page import Line, PageError, parse, read

pytestmark = pytest.mark.unit

PAGE = """\
# 7. A page

**Goal:** test the parser. About 12 minutes.

<!-- lab reset
kubectl delete pod a --ignore-not-found
-->

## Steps

### 7.1 First step

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

<!-- lab check
kubectl get pod a
-->

> **Hint:** run the
> apply line.

<!-- lab solve
kubectl apply -f x.yaml
-->

### 7.2 Second step

````bash
$ echo '```'
$ kubectl get pods --watch
````

<!-- lab replay: a watch never ends
kubectl wait --for=condition=Ready pod/a
kubectl get pods
-->

<!-- lab check
test -n "$(kubectl get pods -o name)"
-->

> **Hint:** wait.

<!-- lab solve
true
-->

## Check

<!-- lab check
kubectl get pod a
-->
"""


def test_a_page_with_its_steps_lines_and_scripts() -> None:
    page = parse(PAGE, Path("07-a.md"))
    assert (page.number, page.title, page.minutes) == (7, "A page", 12)
    assert page.reset.text == "kubectl delete pod a --ignore-not-found\n"
    assert page.check.text == "kubectl get pod a\n"
    first, second = page.steps
    assert (first.id, first.title, first.number) == ("7.1", "First step", 11)
    assert first.lines == (Line("kubectl get nodes", 14, shown=("NAME   STATUS",)),
                           Line("kubectl apply -f x.yaml --dry-run=client", 16))
    assert first.check.text == "kubectl get pod a\n" and first.solve.text == "kubectl apply -f x.yaml\n"
    assert first.hint == "run the apply line."
    assert second.lines == (
        Line("echo '```'", 39),
        Line("kubectl get pods --watch", 40, "a watch never ends",
             ("kubectl wait --for=condition=Ready pod/a", "kubectl get pods")),
    )
    assert second.lines[1].replayed == ("kubectl wait --for=condition=Ready pod/a", "kubectl get pods")
    assert second.lines[0].replayed == ("echo '```'",)
    assert page.lines == [*first.lines, *second.lines]


def replace(old: str, new: str) -> str:
    assert old in PAGE
    return PAGE.replace(old, new, 1)


@pytest.mark.parametrize("text, error", [
    (replace("# 7. A page", "# A page"), "line 1: the page must start with `# N. Title`"),
    (replace("<!-- lab solve\nkubectl apply -f x.yaml\n-->\n", ""),
     "line 11: step 7.1 `First step` has no `<!-- lab solve` comment"),
    (replace("<!-- lab check\nkubectl get pod a\n-->\n\n> **Hint:** run", "> **Hint:** run"),
     "has no `<!-- lab check` comment"),
    (replace("> **Hint:** wait.\n", ""), "line 36: step 7.2 `Second step` has no `> **Hint:**` line"),
    (replace("<!-- lab reset\nkubectl delete pod a --ignore-not-found\n-->\n", ""),
     "page 7 has no `<!-- lab reset` comment"),
    (replace("## Check\n\n<!-- lab check\nkubectl get pod a\n-->\n", ""),
     "page 7 has no `<!-- lab check` comment under"),
    (replace("## Steps\n", "## Steps\n\n```bash\n$ early\n```\n"), "line 11: `$ ` commands outside a `### ` step"),
    (replace("    --dry-run=client\n", "    --dry-run=client \\\n"), "line 16: command ends with a backslash"),
    (replace("### 7.2 Second", "### Second"), "line 36: a step heading is `### 7.2 Title`"),
    (replace("### 7.2 Second", "### 7.3 Second"), "line 36: this heading says step 7.3, but it is step 7.2"),
    (replace("### 7.2 Second", "### 6.2 Second"), "this heading says step 6.2"),
    (replace("````\n\n<!-- lab replay", "````\n\nA line.\n\n<!-- lab replay"),
     "line 45: a `<!-- lab replay` comment must follow"),
    (replace("<!-- lab replay: a watch never ends", "<!-- lab replay"), "line 43: `<!-- lab replay: REASON`"),
    (replace("kubectl wait --for=condition=Ready pod/a\nkubectl get pods\n-->", "-->"),
     "line 43: a `<!-- lab replay` comment without the commands"),
    (replace("<!-- lab check\ntest -n", "<!-- lab check\n! kubectl get pods\ntest -n"),
     "line 49: `! command` never fails"),
    (replace("<!-- lab solve\ntrue\n-->\n", "<!-- lab solve\ntrue\n-->\n\n<!-- lab solve\ntrue\n-->\n"),
     "a second `<!-- lab solve` comment"),
    (replace("<!-- lab solve\ntrue\n", "<!-- lab solve\ntrue # --> shown\n"), "line 55: `-->` inside"),
    (PAGE + "<!-- lab reset\nx\n", "line 63: `<!-- lab reset` is never closed with `-->`"),
    (replace("<!-- lab solve\ntrue", "<!-- lab solvee\ntrue"), "line 54: `<!-- lab solvee`: a lab comment is one of"),
    (replace("<!-- lab solve\ntrue", "<!-- lab solve: why\ntrue"), "takes nothing after it"),
    (replace("<!-- lab solve\ntrue\n-->", "```solve\ntrue\n```"), "line 54: a ```solve block: write it as a"),
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
