"""A throw-away PostgreSQL server for tests: Debian's `postgresql` package, initdb into a temp dir, listening on
127.0.0.1 and a socket in that dir only. PostgreSQL refuses to run as root, so as root it runs as `nobody`."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.platform.fixtures import require
from tests.platform.procs import Process, free_port, port_open, wait_ready

PG_BIN_ROOT = Path("/usr/lib/postgresql")
PASSWORD = "test-only-password"


def pg_bin() -> Path:
    """The newest installed server's bin dir (Debian keeps it off PATH)."""
    versions = sorted((p for p in PG_BIN_ROOT.glob("*/bin") if (p / "postgres").is_file()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    require(bool(versions), f"no PostgreSQL server under {PG_BIN_ROOT} (tests/platform/install.sh installs "
                            "Debian's postgresql)")
    return versions[-1]


def _as_user() -> list[str]:
    """The command prefix that runs the server as a non-root user (nothing when we are not root)."""
    return ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []


@dataclass
class Postgres:
    data: Path
    port: int
    process: Process | None = None

    @property
    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres password={PASSWORD} dbname=postgres connect_timeout=2"

    @property
    def env(self) -> dict[str, str]:
        """libpq's variables, as the usersvc Deployment sets them."""
        return {"PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": "postgres", "PGPASSWORD": PASSWORD,
                "PGDATABASE": "postgres"}

    def start(self) -> None:
        argv = [*_as_user(), str(pg_bin() / "postgres"), "-D", str(self.data / "db"), "-k", str(self.data),
                "-p", str(self.port), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
        self.process = Process(argv, self.data / "postgres.log", name="postgres")
        wait_ready(self.process, lambda: port_open(self.port), "postgres", 30)

    def stop(self) -> None:
        """Fast shutdown (SIGINT: clients are disconnected; SIGTERM's smart shutdown would wait for them)."""
        if self.process is not None:
            self.process.signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.popen.wait(10)
            self.process.stop()
            self.process = None

    def psql(self, sql: str) -> str:
        result = subprocess.run([str(pg_bin() / "psql"), self.conninfo, "-AtX", "-c", sql], capture_output=True,
                                text=True, timeout=30, check=True)
        return result.stdout.strip()


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """initdb (password auth on TCP) and start; the data dir is removed at the end."""
    bin_dir = pg_bin()
    data = Path(tempfile.mkdtemp(prefix="shopbox-pg-", dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None))
    try:
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(data, nobody.pw_uid, nobody.pw_gid)
        (data / "pw").write_text(PASSWORD)
        os.chmod(data / "pw", 0o644)
        subprocess.run([*_as_user(), str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "postgres",
                        "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={data / 'pw'}", "-E", "UTF8",
                        "--no-instructions"], check=True, capture_output=True, text=True, timeout=120)
        server = Postgres(data, free_port())
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(data, ignore_errors=True)
