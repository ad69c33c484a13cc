"""Running the set-up's commands: a change runs (or, in a dry run, is printed as `+ cmd`, its stdin after it up
to `EOF`), a read of the engine's state always runs. stdout is kept for the one product of a verb (the
kubeconfig of `up`, the image list of `prefetch`); everything else goes to stderr."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from typing import Protocol

PLAIN = re.compile(r"^[A-Za-z0-9_./:=@,+%-]+$")  # shopbox.sh's quote(): these words print as they are


class SetupError(Exception):
    """A failure shown as one line, `shopbox: error: ...`, exit code 1."""


class Runner(Protocol):
    dry_run: bool

    def run(self, argv: Sequence[str], stdin: str | None = None) -> None:
        """A command that changes something; its output goes to stderr."""

    def read(self, argv: Sequence[str]) -> str | None:
        """A command that reads state: its stdout, or None when it fails."""

    def emit(self, argv: Sequence[str]) -> None:
        """The command whose stdout is this verb's product (on our stdout)."""


def quote(argv: Sequence[str]) -> str:
    return " ".join(arg if PLAIN.match(arg) else shlex.quote(arg) for arg in argv)


def log(message: str) -> None:
    print(f"shopbox: {message}", file=sys.stderr, flush=True)


class Commands:
    """The real runner: subprocesses (the Docker CLI and kind of the image, or of the host in tests)."""

    def __init__(self, dry_run: bool = False):
        self.dry_run = dry_run

    def _plan(self, argv: Sequence[str], stdin: str | None) -> None:
        if stdin is None:
            print(f"+ {quote(argv)}", flush=True)
        else:
            print(f"+ {quote(argv)} <<EOF\n{stdin.rstrip(chr(10))}\nEOF", flush=True)

    def run(self, argv: Sequence[str], stdin: str | None = None) -> None:
        if self.dry_run:
            self._plan(argv, stdin)
            return
        sys.stdout.flush()
        result = subprocess.run(list(argv), input=stdin, text=True, stdout=sys.stderr)
        if result.returncode != 0:
            raise SetupError(f"{quote(argv)} failed (exit {result.returncode}; its output is above)")

    def read(self, argv: Sequence[str]) -> str | None:
        result = subprocess.run(list(argv), capture_output=True, text=True)
        return result.stdout if result.returncode == 0 else None

    def emit(self, argv: Sequence[str]) -> None:
        if self.dry_run:
            self._plan(argv, None)
            return
        sys.stdout.flush()
        result = subprocess.run(list(argv))
        if result.returncode != 0:
            raise SetupError(f"{quote(argv)} failed (exit {result.returncode})")
