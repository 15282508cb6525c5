"""The SQLite application recorder: the caller's work in the events' own transaction, one writing process at a time."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from eventsourcing.utils import get_topic

from ordertalk_messaging.storage.ports import IN_TRANSACTION, InTransaction


class WritersLock:
    """An OS file lock beside the database, held around each transaction that inserts events.

    SQLite lets one transaction write at a time and makes the others poll for its lock, sleeping
    1, 2, 5, 10 ms and longer between tries; with several processes saving (``serve --workers``)
    those sleeps, not the work, set their pace. Waiting on this lock instead, a process is woken the
    moment the one before it commits. Within a process, threads take turns on a thread lock first
    (a file lock is held per open file, not per thread).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._threads = threading.Lock()
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


class SQLiteMessagingRecorder(SQLiteApplicationRecorder):
    """``save(thread, in_transaction=fn)`` calls ``fn(cursor, notification_ids)`` before the commit.

    So a keyed post stores its events and its idempotency answer in one commit; if ``fn`` raises, the
    events are rolled back with it. Processes sharing the file insert one at a time (``WritersLock``).
    """

    _writers: WritersLock | None = None

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Insert in one transaction, holding the writers' lock of a database file (not of a memory one)."""
        if self.datastore.pool.is_sqlite_memory_mode:
            return super().insert_events(stored_events, **kwargs)
        if self._writers is None:
            self._writers = WritersLock(f"{self.datastore.pool.db_name}-writers")
        with self._writers:
            return super().insert_events(stored_events, **kwargs)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        hook: InTransaction | None = kwargs.get(IN_TRANSACTION)
        if hook is not None and ids:
            hook(c, ids)
        return ids


RECORDER_TOPIC = get_topic(SQLiteMessagingRecorder)
