"""Per-image progress for builds and pushes.

On a terminal: one live `rich` row per image (spinner, step bar, current step). Elsewhere (CI logs, pipes, tests)
one plain line per event. NO_COLOR and TERM=dumb are honoured. Both reporters are safe to call from worker threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress


class Reporter(Protocol):
    def update(self, ref: str, status: str, step: int | None = None, total: int | None = None) -> None:
        """`ref` is busy with `status`; `step`/`total` when a Dockerfile step is known."""

    def finish(self, ref: str, status: str, ok: bool = True) -> None:
        """`ref` has nothing more to do (`ok=False`: it failed)."""


class PlainReporter:
    """`ref: status` lines, for output that is not a terminal."""

    def __init__(self, out: TextIO):
        self.out = out
        self._lock = threading.Lock()

    def update(self, ref: str, status: str, step: int | None = None, total: int | None = None) -> None:
        prefix = f"step {step}/{total} " if step and total else ""
        self._write(f"{ref}: {prefix}{status}")

    def finish(self, ref: str, status: str, ok: bool = True) -> None:
        self._write(f"{ref}: {status}" if ok else f"{ref}: FAILED: {status}")

    def _write(self, line: str) -> None:
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()


class LiveReporter:
    """One live row per image on a terminal."""

    def __init__(self, progress: RichProgress):
        self.progress = progress
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def _task(self, ref: str) -> TaskID:
        with self._lock:
            if ref not in self._tasks:
                self._tasks[ref] = self.progress.add_task(ref, total=None, ref=ref, status="")
            return self._tasks[ref]

    def update(self, ref: str, status: str, step: int | None = None, total: int | None = None) -> None:
        task = self._task(ref)
        if step and total:
            self.progress.update(task, status=escape(status), completed=step - 1, total=total)
        else:
            self.progress.update(task, status=escape(status))

    def finish(self, ref: str, status: str, ok: bool = True) -> None:
        task = self._task(ref)
        if ok:
            total = self.progress.tasks[task].total or 1
            self.progress.update(task, status=f"[green]✓[/] {escape(status)}", completed=total, total=total)
        else:
            self.progress.update(task, status=f"[red]✗ {escape(status)}[/]")
        self.progress.stop_task(task)


@contextmanager
def reporter(out: TextIO) -> Iterator[Reporter]:
    """A live reporter when `out` (the Output's stream for the report) is a capable terminal, else a plain one."""
    console = Console(file=out, no_color=bool(os.environ.get("NO_COLOR")), highlight=False)
    if not console.is_terminal or console.is_dumb_terminal:
        yield PlainReporter(out)
        return
    columns = (SpinnerColumn(finished_text=" "), TextColumn("{task.fields[ref]}"), BarColumn(bar_width=20),
               MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[status]}"))
    with RichProgress(*columns, console=console, transient=False) as progress:
        yield LiveReporter(progress)


class NullReporter:
    """Progress nobody sees (forge -q, forge setup's check image)."""

    def update(self, ref: str, status: str, step: int | None = None, total: int | None = None) -> None:
        pass

    def finish(self, ref: str, status: str, ok: bool = True) -> None:
        pass
