"""Where page lines and scripts run: a fresh bash per check/solve/reset script, and one long-lived bash per
page replay (shell variables and background jobs carry over from line to line, as in a participant's
terminal). Both take the command that starts bash, so the same replay can run inside the shopbox shell
(`./shopbox.sh run -- bash`) instead of on this machine."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

STRICT = "set -euo pipefail\n"


@dataclass(frozen=True)
class Result:
    code: int
    output: str  # stdout and stderr, interleaved


class ScriptRunner(Protocol):
    def __call__(self, script: str, timeout: float = ...) -> Result: ...


@dataclass(frozen=True)
class Bash:
    """Runs each script in a fresh `bash -c` with `set -euo pipefail`."""

    cwd: Path
    env: Mapping[str, str] | None = None
    argv: Sequence[str] = ("bash",)

    def __call__(self, script: str, timeout: float = 300) -> Result:
        try:
            done = subprocess.run([*self.argv, "-c", STRICT + script], cwd=self.cwd, env=self.env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                                  start_new_session=True, check=False)
        except subprocess.TimeoutExpired as err:
            out = err.output.decode() if isinstance(err.output, bytes) else (err.output or "")
            return Result(124, f"{out}\n(timed out after {timeout:.0f} s)")
        return Result(done.returncode, done.stdout)


class Session:
    """One bash reading lines from a pipe, like a terminal without a TTY; `run` waits for each line's exit code.
    Use as a context manager: leaving it kills bash and everything it started in the background. Unlike a
    participant's shell it has `pipefail` on, so a failing command before a pipe fails the line."""

    def __init__(self, cwd: Path, env: Mapping[str, str] | None = None, argv: Sequence[str] = ("bash",)) -> None:
        self._marker = f"__lab_{uuid.uuid4().hex}__"
        self._proc = subprocess.Popen([*argv], cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        self._selector = selectors.DefaultSelector()
        assert self._proc.stdout is not None
        os.set_blocking(self._proc.stdout.fileno(), False)
        self._selector.register(self._proc.stdout, selectors.EVENT_READ)
        self._buffer = b""
        self._closed = False
        # stderr into stdout inside bash: through `docker run -i` the two are separate streams whose order is lost
        # (the report of `time CMD` arrived after the next line's marker); a failing `curl ... | jq` fails the line.
        self.run("exec 2>&1; set -o pipefail")

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def run(self, line: str, timeout: float = 300) -> Result:
        """Run one line as typed; its exit code and what it printed until it finished."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(f"{line}\nprintf '\\n{self._marker} %s\\n' \"$?\"\n".encode())
        self._proc.stdin.flush()
        deadline = time.monotonic() + timeout
        needle = f"\n{self._marker} ".encode()
        while needle not in self._buffer or not self._buffer.split(needle, 1)[1].count(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or self._proc.poll() is not None:
                out, self._buffer = self._buffer.decode(errors="replace"), b""
                why = f"timed out after {timeout:.0f} s" if left <= 0 else f"bash exited {self._proc.returncode}"
                self.close()
                return Result(124, f"{out}\n({why})")
            if self._selector.select(min(left, 1.0)):
                self._buffer += self._proc.stdout.read() or b""
        out, rest = self._buffer.split(needle, 1)
        code, self._buffer = rest.split(b"\n", 1)
        return Result(int(code), out.decode(errors="replace"))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)  # bash and its background jobs
        self._proc.wait()
        self._selector.close()
