"""The storage ports on the event store's own database (SQLite or PostgreSQL), through its datastore."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Notification

from ordertalk_messaging.storage.ports import Claimed, ClaimResult, InProgress, Mismatch, Replay

STALE_CLAIM_SECONDS = 60.0


class Datastore(Protocol):
    """What the eventsourcing SQLite and PostgreSQL datastores offer: a cursor in a transaction."""

    def transaction(self, *, commit: bool) -> AbstractContextManager[Any]: ...


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one database spells parameters, ids and the events table."""

    param: str
    events_table: str
    notification_id_column: str
    float_type: str
    uuid_as_hex: bool

    def sql(self, statement: str) -> str:
        """``statement`` with ``?`` placeholders in this dialect."""
        return statement.replace("?", self.param)


def _values(row: Any) -> tuple[Any, ...]:
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


class SqlTables:
    """Idempotency keys, relay positions and per-thread logs in the event store's database."""

    def __init__(self, datastore: Datastore, dialect: Dialect) -> None:
        self._db = datastore
        self._d = dialect
        # Table and column names come from the recorder, never from a request.
        self._thread_log_sql = (
            f"SELECT {dialect.notification_id_column}, originator_version, topic, state "  # noqa: S608
            f"FROM {dialect.events_table} WHERE originator_id=? ORDER BY originator_version"
        )

    def create_tables(self) -> None:
        """Create the tables if missing."""
        with self._db.transaction(commit=True) as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS idempotency_keys (scope TEXT NOT NULL, key TEXT NOT NULL, "
                f"fingerprint TEXT NOT NULL, claim TEXT NOT NULL, created_at {self._d.float_type} NOT NULL, "
                "status INTEGER, body TEXT, PRIMARY KEY (scope, key))"
            )
            cur.execute("CREATE TABLE IF NOT EXISTS relay_positions (name TEXT PRIMARY KEY, position BIGINT NOT NULL)")

    def _fetch(self, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._db.transaction(commit=False) as cur:
            cur.execute(self._d.sql(statement), list(params))
            return [_values(r) for r in cur.fetchall()]

    # --- IdempotencyStore ---------------------------------------------------------------------

    def claim(self, scope: str, key: str, fingerprint: str) -> ClaimResult:
        """Reserve ``key`` or report how it was used."""
        token, now = uuid.uuid4().hex, time.time()
        with self._db.transaction(commit=True) as cur:
            cur.execute(
                self._d.sql(
                    "INSERT INTO idempotency_keys (scope, key, fingerprint, claim, created_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (scope, key) DO NOTHING"
                ),
                [scope, key, fingerprint, token, now],
            )
            cur.execute(
                self._d.sql(
                    "SELECT fingerprint, claim, created_at, status, body FROM idempotency_keys WHERE scope=? AND key=?"
                ),
                [scope, key],
            )
            stored_fp, claim, created_at, status, body = _values(cur.fetchall()[0])
            if claim == token:
                return Claimed(token)
            if stored_fp != fingerprint:
                return Mismatch()
            if status is not None and body is not None:
                return Replay(int(status), str(body))
            if float(created_at) < now - STALE_CLAIM_SECONDS:
                cur.execute(
                    self._d.sql(
                        "UPDATE idempotency_keys SET claim=?, created_at=? WHERE scope=? AND key=? AND claim=?"
                    ),
                    [token, now, scope, key, claim],
                )
                return Claimed(token)
            return InProgress()

    def complete(self, scope: str, key: str, token: str, status: int, body: str) -> None:
        """Keep the answer of the claimed request."""
        with self._db.transaction(commit=True) as cur:
            cur.execute(
                self._d.sql("UPDATE idempotency_keys SET status=?, body=? WHERE scope=? AND key=? AND claim=?"),
                [status, body, scope, key, token],
            )

    def release(self, scope: str, key: str, token: str) -> None:
        """Forget a failed claim."""
        with self._db.transaction(commit=True) as cur:
            cur.execute(
                self._d.sql("DELETE FROM idempotency_keys WHERE scope=? AND key=? AND claim=? AND status IS NULL"),
                [scope, key, token],
            )

    # --- PositionStore ------------------------------------------------------------------------

    def get(self, name: str) -> int | None:
        """The relay position recorded under ``name``."""
        rows = self._fetch("SELECT position FROM relay_positions WHERE name=?", [name])
        return int(rows[0][0]) if rows else None

    def put(self, name: str, position: int) -> None:
        """Record the relay position."""
        with self._db.transaction(commit=True) as cur:
            cur.execute(
                self._d.sql(
                    "INSERT INTO relay_positions (name, position) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET position=excluded.position"
                ),
                [name, position],
            )

    # --- ThreadLog ----------------------------------------------------------------------------

    def notifications_of(self, thread_id: UUID) -> Sequence[Notification]:
        """The thread's stored events with their notification ids, oldest first."""
        originator: Any = thread_id.hex if self._d.uuid_as_hex else thread_id
        rows = self._fetch(self._thread_log_sql, [originator])
        return [
            Notification(originator_id=thread_id, originator_version=int(v), topic=str(t), state=bytes(s), id=int(n))
            for n, v, t, s in rows
        ]
