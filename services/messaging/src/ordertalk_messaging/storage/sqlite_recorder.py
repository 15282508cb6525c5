"""The SQLite application recorder that also runs the caller's work in the events' own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from eventsourcing.utils import get_topic

from ordertalk_messaging.storage.ports import IN_TRANSACTION, InTransaction


class SQLiteMessagingRecorder(SQLiteApplicationRecorder):
    """``save(thread, in_transaction=fn)`` calls ``fn(cursor, notification_ids)`` before the commit.

    So a keyed post stores its events and its idempotency answer in one commit; if ``fn`` raises, the
    events are rolled back with it.
    """

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        hook: InTransaction | None = kwargs.get(IN_TRANSACTION)
        if hook is not None and ids:
            hook(c, ids)
        return ids


RECORDER_TOPIC = get_topic(SQLiteMessagingRecorder)
