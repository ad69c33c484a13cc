"""The day's spine (slides/spine.yaml): the table of what a team needs at each stage of its service's life, shown
at every module opener with that module's cells marked, and whole in the recaps (`<!-- spine: N -->`,
`<!-- spine -->`). One table, rendered where it is needed, so the openers cannot disagree with each other."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


class SpineError(ValueError):
    """slides/spine.yaml is malformed, or a directive names no module of it."""


@dataclass(frozen=True)
class Cell:
    text: str
    modules: tuple[int, ...]


@dataclass(frozen=True)
class Spine:
    columns: tuple[str, ...]
    stages: tuple[tuple[str, tuple[Cell, ...]], ...]

    @property
    def modules(self) -> set[int]:
        return {m for _, cells in self.stages for cell in cells for m in cell.modules}

    def table(self, module: int | None = None) -> str:
        """The Markdown table; with `module`, its cells are marked (<mark>) and the others dimmed."""
        if module is not None and module not in self.modules:
            raise SpineError(f"spine: module {module} fills no cell of slides/spine.yaml")
        rows = ["| | " + " | ".join(self.columns) + " |", "|---|" + "---|" * len(self.columns)]
        for stage, cells in self.stages:
            shown = []
            for cell in cells:
                text = f"{cell.text} ({', '.join(map(str, cell.modules))})"
                if module is not None:
                    text = f"<mark>{text}</mark>" if module in cell.modules else f'<span class="dim">{text}</span>'
                shown.append(text)
            rows.append(f"| {stage} | " + " | ".join(shown) + " |")
        return "\n".join(rows)


def load(path: Path) -> Spine:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        columns = tuple(str(c) for c in data["columns"])
        stages = tuple((str(s["name"]), tuple(Cell(str(c["text"]), tuple(int(m) for m in c["modules"]))
                                              for c in s["cells"])) for s in data["stages"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as err:
        raise SpineError(f"{path.name}: {err}") from None
    if any(len(cells) != len(columns) for _, cells in stages):
        raise SpineError(f"{path.name}: every stage needs one cell per column ({len(columns)})")
    return Spine(columns, stages)
