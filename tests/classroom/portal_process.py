"""The real portal for tests: `shopbox-class portal` as a process (gunicorn) on 127.0.0.1 against a cluster, its
instructor key read from what it prints, and HTTP sessions for a participant and the instructor."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.platform.procs import Process, free_port, port_open, running

CODE = "test-code"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Portal:
    url: str  # http://127.0.0.1:PORT/
    key: str
    process: Process

    def instructor(self) -> requests.Session:
        session = requests.Session()
        answer = session.get(f"{self.url}instructor/login", params={"key": self.key}, timeout=30)
        answer.raise_for_status()
        return session

    def claim(self, name: str, seat: str = "") -> tuple[requests.Session, str]:
        """A participant's browser claiming a seat: the session and the seat it got."""
        session = requests.Session()
        answer = session.post(f"{self.url}claim", data={"code": CODE, "name": name, "seat": seat}, timeout=60)
        assert answer.status_code == 200, answer.text
        found = re.search(r'<span id="seat">([^<]+)</span>', answer.text)
        assert found, answer.text
        return session, found.group(1)


@contextmanager
def portal(klass: str, out: Path, log: Path, env: dict[str, str], *extra: str) -> Iterator[Portal]:
    """`shopbox-class --class KLASS portal` from the repository (its exercise pages), until the block ends."""
    port = free_port()
    argv = [sys.executable, "-m", "classroom", "--class", klass, "portal", "--host", "127.0.0.1", "--port", str(port),
            "--out", str(out), "--code", CODE, *extra]
    with running(argv, log, lambda: port_open(port), "the portal", timeout=60, env=env, cwd=ROOT) as process:
        found = re.search(r"/instructor/login\?key=(\S+)", log.read_text())
        assert found, log.read_text()
        yield Portal(f"http://127.0.0.1:{port}/", found.group(1), process)
