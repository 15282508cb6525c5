"""The PostgreSQL application recorder that also runs the caller's work in the events' own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic, retry
from psycopg import Cursor
from psycopg.sql import SQL, Identifier

from ordertalk_messaging.application.ports import IN_TRANSACTION, SNAPSHOTS, InTransaction


class PostgresMessagingRecorder(PostgresApplicationRecorder):
    """``save(thread, in_transaction=fn)`` calls ``fn(cursor, notification_ids)`` before the commit.

    The same contract as the SQLite recorder: a keyed command stores its events and its idempotency
    answer in one commit (one fsync for a whole batch of the writer, not one more per request); if
    ``fn`` raises, the events are rolled back with it. The library's pipelined insert keeps a Python
    exception raised after the insert from rolling back, so with ``fn`` the same statements (table
    lock, NOTIFY, insert returning the ids) run in a plain transaction. ``snapshots=[stored snapshot]``
    writes those snapshots in that transaction too, into ``snapshots_table`` (the library's snapshots
    table, set by MessagingStore), and drops each thread's older snapshots.
    """

    snapshots_table: str | None = None

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Insert, then write the snapshots and run the ``in_transaction`` work, in one transaction."""
        hook: InTransaction | None = kwargs.get(IN_TRANSACTION)
        snapshots: Sequence[StoredEvent] | None = kwargs.get(SNAPSHOTS)
        if (hook is None and not snapshots) or not stored_events or self.datastore.enable_db_functions:
            inserted: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            if snapshots and stored_events:  # the library's own insert: the snapshots in a commit of their own
                with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
                    self._insert_snapshots(curs, snapshots)
            return inserted
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            self._insert_stored_events(curs, stored_events, **kwargs)
            ids = self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
            if snapshots:
                self._insert_snapshots(curs, snapshots)
            if ids and hook is not None:
                hook(curs, ids)
        return ids

    def _insert_snapshots(self, curs: Cursor[Any], snapshots: Sequence[StoredEvent]) -> None:
        """Write each snapshot (unless one is stored at its version) and drop its thread's older ones."""
        if self.snapshots_table is None:
            raise RuntimeError("snapshots saved on a store without a snapshots table")
        table = Identifier(self.datastore.schema, self.snapshots_table)
        curs.executemany(
            SQL(
                "INSERT INTO {} (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING"
            ).format(table),
            [(s.originator_id, s.originator_version, s.topic, s.state) for s in snapshots],
        )
        curs.executemany(
            SQL("DELETE FROM {} WHERE originator_id = %s AND originator_version < %s").format(table),
            [(s.originator_id, s.originator_version) for s in snapshots],
        )


RECORDER_TOPIC = get_topic(PostgresMessagingRecorder)
