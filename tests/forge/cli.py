"""The one way tests run `forge ARGS...`: in process through click's runner (fast; `backends=` puts the run context
on fakes, e.g. tests/forge/fakes.py's), or with `process=True` as the installed console script (a real process:
what a user runs; signals, exec). Either way the caller's CANARY, FORGE_PROFILE, FORGE_BRANCH, K8S_NAMESPACE,
FORGE_VERBOSE and FORGE_QUIET are dropped unless `env` sets them, NO_COLOR is set, and stdout and stderr come back
apart.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from forge.cli import main

FORGE = str(Path(sys.executable).parent / "forge")  # the console script
DROPPED = ("CANARY", "FORGE_PROFILE", "FORGE_BRANCH", "K8S_NAMESPACE", "FORGE_VERBOSE", "FORGE_QUIET")


@dataclass(frozen=True)
class Ran:
    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    output: str  # both streams (interleaved as written when run in process)

    def ok(self) -> Ran:
        """Itself, once it exited 0 (else the assertion shows both streams)."""
        assert self.exit_code == 0, f"forge {' '.join(self.args)} exited {self.exit_code}\n{self.stdout}\n{self.stderr}"
        return self

    def error(self, code: int = 1) -> str:
        """The one `error: ...` line of a run that failed with `code`; no traceback."""
        assert self.exit_code == code, f"forge {' '.join(self.args)} exited {self.exit_code}\n{self.output}"
        errors = [line for line in self.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and "Traceback" not in self.stderr, self.stderr
        return errors[0]


def environment(env: dict[str, str] | None) -> dict[str, str]:
    """The process environment without the caller's forge settings, plus `env`."""
    base = {k: v for k, v in os.environ.items() if k not in DROPPED}
    return {**base, "NO_COLOR": "1", **(env or {})}


def forge(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input: str | None = None,
          backends: Any = None, process: bool = False, timeout: float = 600) -> Ran:
    """Run `forge ARGS` in `cwd` (default: the current directory) and return what it printed."""
    if process:
        assert backends is None, "a separate process reaches the real backends only"
        done = subprocess.run([FORGE, *args], cwd=cwd, env=environment(env), input=input, capture_output=True,
                              text=True, timeout=timeout, check=False)
        return Ran(args, done.returncode, done.stdout, done.stderr, done.stdout + done.stderr)
    unset = {name: None for name in DROPPED if name not in (env or {})}
    with contextlib.chdir(cwd or Path.cwd()):
        result = CliRunner().invoke(main, list(args), input=input, env={**unset, "NO_COLOR": "1", **(env or {})},
                                    obj={"backends": backends} if backends else None, catch_exceptions=False)
    return Ran(args, result.exit_code, result.stdout, result.stderr, result.output)
