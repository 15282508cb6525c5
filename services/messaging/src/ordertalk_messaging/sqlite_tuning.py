"""SQLite durability setting for the eventsourcing connection pool (PRAGMA synchronous on each connection)."""

from __future__ import annotations

from typing import Any, Literal

from eventsourcing.sqlite import SQLiteConnectionPool

Synchronous = Literal["FULL", "NORMAL"]
_original_create: Any = SQLiteConnectionPool._create_connection


def set_sqlite_synchronous(mode: Synchronous) -> None:
    """Make every new store connection use ``PRAGMA synchronous=<mode>``.

    NORMAL in WAL mode skips the fsync on each commit: a committed write survives a crash of the
    process, but the last commits may be lost if the machine loses power. FULL fsyncs every commit.
    """

    def create(pool: SQLiteConnectionPool) -> Any:
        connection = _original_create(pool)
        connection._sqlite_conn.execute(f"PRAGMA synchronous={mode}")
        return connection

    SQLiteConnectionPool._create_connection = create  # type: ignore[method-assign,assignment]
