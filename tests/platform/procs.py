"""Starting and stopping real server processes on 127.0.0.1 for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll `check` until it is true; raise TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class Process:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None):
        self.argv = argv
        self.log = log
        self._log_file = open(log, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self.popen = subprocess.Popen(
            argv,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def signal(self, sig: int) -> None:
        if self.alive():
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM the process group, SIGKILL it after `timeout`; returns the exit code."""
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.popen.wait(5)
        self._log_file.close()
        return self.popen.returncode


@contextmanager
def running(argv: list[str], log: Path, ready: Callable[[], bool], what: str, timeout: float = 30,
            env: dict[str, str] | None = None, cwd: Path | None = None) -> Iterator[Process]:
    """Start a process, wait until `ready()`; always stop it at the end. Shows its log if it never gets ready."""
    proc = Process(argv, log, env=env, cwd=cwd)
    try:
        try:
            wait_for(lambda: not proc.alive() or ready(), timeout, what)
        except TimeoutError as exc:
            raise RuntimeError(f"{exc}; last log lines of {log}:\n{proc.tail()}") from None
        if not proc.alive():
            raise RuntimeError(f"{what} exited with {proc.popen.returncode}; log {log}:\n{proc.tail()}")
        yield proc
    finally:
        proc.stop()
