"""usersvc's PostgreSQL side: a connection pool, the schema migrations, and the queries.

Connection settings come from libpq's own environment variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
PGDATABASE, ...), or a conninfo string given to Store. The pool opens in the background and keeps trying: the
service starts while the database is still down, and `ready()` says whether it can serve.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

log = logging.getLogger("usersvc.store")

# Applied in order, each once, in one transaction with the row that records it. Never edit a released entry:
# append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE users (
        username text PRIMARY KEY,
        fullname text NOT NULL,
        email    text NOT NULL,
        created  timestamptz NOT NULL DEFAULT now()
    )
    """,
)
MIGRATION_LOCK = 0x75736572  # pg_advisory_xact_lock key: replicas starting together migrate one at a time


class Unavailable(Exception):
    """The database cannot be reached (or is not migrated yet): the caller answers 503."""


class Exists(Exception):
    """A user with that name exists already."""


@dataclass(frozen=True)
class User:
    username: str
    fullname: str
    email: str
    created: datetime

    def to_json(self) -> dict[str, Any]:
        return {"username": self.username, "fullname": self.fullname, "email": self.email,
                "created": self.created.isoformat(timespec="milliseconds")}


class Store:
    """Users in PostgreSQL. Every method raises Unavailable when the database does not answer in time."""

    def __init__(self, conninfo: str = "", pool_size: int = 4, timeout: float = 2.0):
        self.timeout = timeout
        self._migrated = False
        self._lock = threading.Lock()  # opening the pool
        self._migrate_lock = threading.Lock()
        self.pool = ConnectionPool(
            conninfo, min_size=1, max_size=pool_size, open=False, timeout=timeout,
            kwargs={"connect_timeout": max(1, int(timeout)), "application_name": "usersvc"},
            reconnect_timeout=0,  # 0: never give up reconnecting (the database may come back any time)
            check=ConnectionPool.check_connection,  # a connection broken by a database restart is replaced
        )

    def _open(self) -> None:
        """Start connecting in the background, on first use: in gunicorn's worker, after the fork (pool threads
        do not survive a fork)."""
        with self._lock:
            if self.pool.closed:
                self.pool.open(wait=False)

    def close(self) -> None:
        self.pool.close()

    def migrate(self) -> int:
        """Apply the migrations not applied yet; returns how many were applied."""
        applied = 0
        self._open()
        try:
            with self.pool.connection(timeout=self.timeout) as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                             "applied timestamptz NOT NULL DEFAULT now())")
                done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
                for version, sql in enumerate(MIGRATIONS, start=1):
                    if version not in done:
                        conn.execute(sql)
                        conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                        applied += 1
                        log.info("applied migration %d", version)
        except psycopg.OperationalError as exc:  # PoolTimeout is one too
            raise Unavailable(f"database unavailable: {_one_line(exc)}") from exc
        return applied

    def ready(self) -> None:
        """Raise Unavailable unless the database answers and the schema is current (migrating it if needed)."""
        with self._migrate_lock:
            if not self._migrated:
                self.migrate()
                self._migrated = True
        self._run("SELECT 1")

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        if not self._migrated:
            self.ready()
        self._open()
        try:
            with self.pool.connection(timeout=self.timeout) as conn, conn.cursor(row_factory=dict_row) as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        except psycopg.errors.UniqueViolation as exc:
            raise Exists(str(params[0])) from exc
        except psycopg.OperationalError as exc:
            raise Unavailable(f"database unavailable: {_one_line(exc)}") from exc

    def create(self, username: str, fullname: str, email: str) -> User:
        (row,) = self._run("INSERT INTO users (username, fullname, email) VALUES (%s, %s, %s) RETURNING *",
                           (username, fullname, email))
        return User(**row)

    def get(self, username: str) -> User | None:
        rows = self._run("SELECT * FROM users WHERE username = %s", (username,))
        return User(**rows[0]) if rows else None

    def list(self, limit: int, offset: int) -> list[User]:
        rows = self._run("SELECT * FROM users ORDER BY username LIMIT %s OFFSET %s", (limit, offset))
        return [User(**row) for row in rows]

    def delete(self, username: str) -> bool:
        return bool(self._run("DELETE FROM users WHERE username = %s RETURNING username", (username,)))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
