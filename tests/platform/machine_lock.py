"""The machine's one-kind-cluster-at-a-time lock (/tmp/shopbox-workshop.lock, see tests/README.md).

Developers run the kind tests as `flock /tmp/shopbox-workshop.lock pytest ...`; CI runs them bare. A fixture that
creates a kind cluster holds the lock through `kind_lock()`: it passes at once when a process this test run is a
child of already holds it (that `flock`), and when this process holds it already (a second fixture); otherwise it
waits for it, so that two runs never make kind clusters at the same time.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK = Path("/tmp/shopbox-workshop.lock")
_held = 0  # how many kind_lock() contexts of this process are open


def _lock_key(path: Path) -> str:
    """How /proc/locks names a file: MAJOR:MINOR:INODE, the device numbers in hex."""
    stat = path.stat()
    return f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"


def holders(path: Path = LOCK) -> set[int]:
    """The pids holding a flock on `path`."""
    if not path.exists():
        return set()
    key = _lock_key(path)
    pids = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == key:
            pids.add(int(fields[4]))
    return pids


def ancestors(pid: int | None = None) -> set[int]:
    """This process's parent, its parent, ... up to init."""
    found: set[int] = set()
    pid = os.getppid() if pid is None else pid
    while pid > 1 and pid not in found:
        found.add(pid)
        status = Path(f"/proc/{pid}/status").read_text()
        pid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
    return found


@contextmanager
def kind_lock(path: Path = LOCK) -> Iterator[None]:
    """Hold the machine's kind lock for the duration (see the module's docstring)."""
    global _held
    if _held or holders(path) & ancestors():
        _held += 1
        try:
            yield
        finally:
            _held -= 1
        return
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for {path} (held by pid {', '.join(map(str, sorted(holders(path))))})",
                  file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        _held += 1
        try:
            yield
        finally:
            _held -= 1
            fcntl.flock(handle, fcntl.LOCK_UN)
