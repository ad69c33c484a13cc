"""Starting and stopping real server processes on 127.0.0.1 for tests (and the local control plane)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def free_ports(count: int) -> list[int]:
    """Distinct TCP ports on 127.0.0.1 that are free right now (bound together, then released for servers)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    return free_ports(1)[0]


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


def _die_with_parent() -> None:  # runs in the child before exec
    """Linux: SIGKILL the child when the thread that started it dies (a killed pytest leaves no server behind).

    So start processes from a thread that outlives them (pytest's main thread).
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


class Process:
    """A child process in its own process group, with its output in a log file.

    `env` is laid over this process's environment; a None value removes a variable.
    """

    def __init__(self, argv: Sequence[str], log: Path, env: Mapping[str, str | None] | None = None,
                 cwd: Path | None = None, name: str | None = None):
        self.argv = list(argv)
        self.log = log
        self.name = name or Path(self.argv[0]).name
        merged = {**os.environ, **(env or {})}
        with open(log, "ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={key: value for key, value in merged.items() if value is not None},
                cwd=cwd,
                start_new_session=True,  # its own process group: stop() signals the whole group
                preexec_fn=_die_with_parent,
            )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"<cannot read {self.log}: {exc}>"

    def describe(self, lines: int = 40) -> str:
        state = "running" if self.alive() else f"exited with {self.popen.returncode}"
        return f"--- {self.name} ({state}), last lines of {self.log}:\n{self.tail(lines)}"

    def signal(self, sig: int) -> None:
        """Signal the whole process group (nothing when it is gone)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
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
        self.signal(signal.SIGKILL)  # children the process left in its group go too
        return self.popen.returncode


def wait_ready(proc: Process, ready: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Wait until `ready()`; RuntimeError with the process's last log lines if it exits or never gets ready."""
    try:
        wait_for(lambda: not proc.alive() or ready(), timeout, what)
    except TimeoutError as exc:
        raise RuntimeError(f"{exc}; last log lines of {proc.log}:\n{proc.tail()}") from None
    if not proc.alive():
        raise RuntimeError(f"{what} exited with {proc.popen.returncode}; log {proc.log}:\n{proc.tail()}")


@contextmanager
def running(argv: list[str], log: Path, ready: Callable[[], bool], what: str, timeout: float = 30,
            env: dict[str, str] | None = None, cwd: Path | None = None) -> Iterator[Process]:
    """Start a process, wait until `ready()`; always stop it at the end. Shows its log if it never gets ready."""
    proc = Process(argv, log, env=env, cwd=cwd)
    try:
        wait_ready(proc, ready, what, timeout)
        yield proc
    finally:
        proc.stop()


class LineWatcher:
    """The output lines of a running process (stdout=PIPE, text=True), read in a thread; `wait_for` returns the
    first new line that starts with a prefix, e.g. a long-running command's progress lines."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.seen: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        stream = process.stdout
        assert stream is not None, "start the process with stdout=subprocess.PIPE"
        threading.Thread(target=lambda: [self._lines.put(line.rstrip("\n")) for line in stream],
                         daemon=True).start()

    def wait_for(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None and self._lines.empty():
                    break
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no {prefix!r} line; the process said:\n" + "\n".join(self.seen))
