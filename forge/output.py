"""Everything forge prints goes through one `Output`: the command's product, its report, warnings, notes, errors
and build progress.

Where each goes (the conventions forge/README.md documents):
- `result`: the command's product on stdout (render's manifests, build's image references, list's table, url's URL,
  logs' lines, canary status's table); with `--output json`, the same as one JSON document.
- `info`: the report of what forge does (`context: ...`, `Deployment/qotm created`, `waiting ...`). On stdout for
  the commands that change things (deploy, delete, promote, abort, setup, dev); on stderr for the commands whose
  stdout is their product (`product=True`), so a pipe gets only the product.
- `warn`: `warning: ...`, where `info` goes; never silenced.
- `note`: `note: ...` on stderr: what forge skipped. The stages below the verbs log these (`logging.getLogger(
  "forge...").warning`: they run without an Output); `forward_notes` routes them here while a command runs.
- `aside`: a line for the person at the terminal on stderr, beside the report (forge dev's farewell).
- `error`: `error: MESSAGE (HINT)` on stderr, the detail under it with -v.
- `progress()`: the per-image build and push display where `info` goes (live rows on a terminal).

`quiet` (-q) keeps only the product, warnings and errors. Writes are whole lines under a lock: forge dev prints from
log-following threads.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

import click

from forge.errors import ForgeError

if TYPE_CHECKING:
    from forge.progress import Reporter


class Output:
    """One command's way to the terminal. Streams default to the process's stdout and stderr, looked up at each write
    (click's test runner swaps them)."""

    def __init__(self, *, product: bool = False, json_output: bool = False, quiet: bool = False,
                 verbose: bool = False, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.product = product or json_output
        self.json_output = json_output
        self.quiet = quiet
        self.verbose = verbose
        self._stdout = stdout
        self._stderr = stderr
        self._lock = threading.Lock()

    def result(self, text: str, data: Any = None, *, newline: bool = True) -> None:
        """The product: `text`, or `data` as JSON with --output json."""
        if self.json_output:
            import json  # only for --output json

            self._write(False, json.dumps(data, indent=2), True)
        else:
            self._write(False, text, newline)

    def info(self, line: str) -> None:
        if not self.quiet:
            self._write(self.product, line)

    def warn(self, text: str) -> None:
        self._write(self.product, f"warning: {text}")

    def note(self, text: str) -> None:
        if not self.quiet:
            self._write(True, f"note: {text}")

    def aside(self, line: str) -> None:
        if not self.quiet:
            self._write(True, line)

    def error(self, err: ForgeError | str, detail: str | None = None) -> None:
        """`error: ...` (with the hint); the detail only with -v."""
        if isinstance(err, ForgeError):
            err, detail = str(err), err.detail
        self._write(True, f"error: {err}")
        if detail and self.verbose:
            self._write(True, detail.rstrip("\n"))

    @contextmanager
    def progress(self) -> Iterator[Reporter]:
        """Per-image progress rows where `info` goes; nothing with -q."""
        from forge.progress import NullReporter, reporter  # rich: loaded only by the commands that build

        if self.quiet:
            yield NullReporter()
            return
        with reporter(self.stream(self.product)) as shown:
            yield shown

    def stream(self, err: bool) -> TextIO:
        return (self._stderr if err else self._stdout) or (sys.stderr if err else sys.stdout)

    def _write(self, err: bool, text: str, newline: bool = True) -> None:
        with self._lock:
            click.echo(text, file=self.stream(err), nl=newline)


@contextmanager
def forward_notes(current: Callable[[], Output]) -> Iterator[None]:
    """While the block runs, what forge's stages log (`log.warning`: a skipped service or directory) is a note of
    the Output `current()` returns then (the running command's)."""
    handler = _NoteHandler(current)
    logger = logging.getLogger("forge")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


class _NoteHandler(logging.Handler):
    def __init__(self, current: Callable[[], Output]) -> None:
        super().__init__(logging.WARNING)
        self.current = current

    def emit(self, record: logging.LogRecord) -> None:
        self.current().note(record.getMessage())


logging.getLogger("forge").propagate = False  # notes are shown by Output, never twice by the root logger
