"""tests/exercises/steps.py: the `$ ` commands of any Markdown (the slide deck uses it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exercises.lab.page import PageError
from tests.exercises.steps import Step, extract, read

pytestmark = pytest.mark.unit

TEXT = """\
## A slide

```bash
$ kubectl get nodes
NAME   STATUS
$ kubectl apply \\
    -f x.yaml
$ nano qotm/qotm.py
# not replayed: an editor
# replay runs: sed -i s/a/b/ qotm/qotm.py
```

```yaml
$ not-bash
```
"""


def test_bash_commands_in_order_without_titles_steps_or_checks() -> None:
    assert extract(TEXT) == [Step("kubectl get nodes", 4), Step("kubectl apply -f x.yaml", 6),
                             Step("nano qotm/qotm.py", 8)]


def test_a_malformed_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "deck.md"
    path.write_text("```bash\n$ a\n")
    with pytest.raises(PageError, match=f"^{path}:1: unclosed ``` fence"):
        read(path)
