"""The outputs a real replay printed for the lines whose output a page shows, kept beside the pages
(exercises/outputs/NN-name.json: {command: [what it printed, each time the page runs it, in order]}). The
workshop tier writes them when asked (SHOPBOX_RECORD_OUTPUTS=1); a unit test holds every page's shown outputs to
them (exercises/lab/outputs.py)."""

from __future__ import annotations

import json
from pathlib import Path

from exercises.lab.page import Page


def path(page: Page) -> Path:
    return page.path.parent / "outputs" / f"{page.path.stem}.json"


def load(page: Page) -> dict[str, list[str]]:
    """What the last recording replay printed, by command ({} when the page was never recorded)."""
    file = path(page)
    return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}


def write(page: Page, printed: dict[str, list[str]], root: Path) -> Path:
    """Record `printed` for `page` under `root`'s exercises/outputs/ (the repository's, not a workspace copy's)."""
    target = root / "exercises" / "outputs" / f"{page.path.stem}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(printed, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    return target
