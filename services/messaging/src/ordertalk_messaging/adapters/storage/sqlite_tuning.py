"""SQLite durability setting for the eventsourcing connection pool (PRAGMA synchronous on each connection)."""

from __future__ import annotations

from typing import Any, Literal

from eventsourcing.sqlite import SQLiteConnectionPool

Synchronous = Literal["FULL", "NORMAL"]
_original_create: Any = SQLiteConnectionPool._create_connection


def set_sqlite_synchronous(mode: Synchronous) -> None:
    """Make every new store connection use ``PRAGMA synchronous=<mode>``.

    FULL (the default) fsyncs every commit, as PostgreSQL does. NORMAL in WAL mode skips that fsync:
    a commit survives a crash of the process, but the last commits may vanish if the machine loses
    power, after the relay may already have published them. The next event of such a thread then
    takes the lost event's version, hence its event id, and consumers that de-duplicate by event id
    would drop it. The writer's group commit pays the fsync once per batch, not once per request.
    """

    def create(pool: SQLiteConnectionPool) -> Any:
        connection = _original_create(pool)
        connection._sqlite_conn.execute(f"PRAGMA synchronous={mode}")
        return connection

    SQLiteConnectionPool._create_connection = create  # type: ignore[method-assign,assignment]
