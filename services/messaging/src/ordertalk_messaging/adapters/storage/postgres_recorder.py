"""The PostgreSQL application recorder that also runs the caller's work in the events' own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic, retry

from ordertalk_messaging.application.ports import IN_TRANSACTION, InTransaction


class PostgresMessagingRecorder(PostgresApplicationRecorder):
    """``save(thread, in_transaction=fn)`` calls ``fn(cursor, notification_ids)`` before the commit.

    The same contract as the SQLite recorder: a keyed command stores its events and its idempotency
    answer in one commit (one fsync for a whole batch of the writer, not one more per request); if
    ``fn`` raises, the events are rolled back with it. The library's pipelined insert keeps a Python
    exception raised after the insert from rolling back, so with ``fn`` the same statements (table
    lock, NOTIFY, insert returning the ids) run in a plain transaction.
    """

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Insert, then run the ``in_transaction`` work, in one transaction."""
        hook: InTransaction | None = kwargs.get(IN_TRANSACTION)
        if hook is None or not stored_events or self.datastore.enable_db_functions:
            inserted: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return inserted
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            self._insert_stored_events(curs, stored_events, **kwargs)
            ids = self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
            if ids:
                hook(curs, ids)
        return ids


RECORDER_TOPIC = get_topic(PostgresMessagingRecorder)
