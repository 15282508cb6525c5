"""The SQLite application recorder: the caller's work in the events' own transaction, one writing process at a time."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from eventsourcing.utils import get_topic

from ordertalk_messaging.application.ports import IN_TRANSACTION, SNAPSHOTS, InTransaction


class WritersLock:
    """An OS file lock beside the database: one process at a time inserts events.

    SQLite lets one transaction write at a time and makes the others poll for its lock, sleeping
    1, 2, 5, 10 ms and longer between tries; with several processes saving (``serve --workers``)
    those sleeps, not the work, set their pace. Waiting on this lock instead, a process is woken the
    moment the one before it lets go. The recorder holds it around every insert; a writer retrying
    after a version conflict holds it from reading the stored versions of its threads to the commit,
    so no other process can write those threads in between. Re-entrant within a thread; other
    threads of the process take turns first (a file lock is held per open file).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._threads.acquire()
        if self._depth == 0:
            try:
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise
        self._depth += 1

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


class SQLiteMessagingRecorder(SQLiteApplicationRecorder):
    """``save(thread, in_transaction=fn)`` calls ``fn(cursor, notification_ids)`` before the commit.

    So a keyed post stores its events and its idempotency answer in one commit; if ``fn`` raises, the
    events are rolled back with it. Processes sharing the file insert one at a time (``WritersLock``).
    ``save(thread, snapshots=[stored snapshot])`` also writes those snapshots in that commit, into
    ``snapshots_table`` (the library's snapshots table, set by MessagingStore), and drops each thread's
    older snapshots: no second commit, and a snapshot exists only if its events do.
    """

    _writers: WritersLock | None = None
    snapshots_table: str | None = None

    def exclusive(self) -> AbstractContextManager[None]:
        """The writers' lock of a database file (none for a memory database, which one process holds)."""
        if self.datastore.pool.is_sqlite_memory_mode:
            return nullcontext()
        if self._writers is None:
            self._writers = WritersLock(f"{self.datastore.pool.db_name}-writers")
        return self._writers

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Insert in one transaction, holding the writers' lock."""
        with self.exclusive():
            return super().insert_events(stored_events, **kwargs)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        snapshots: Sequence[StoredEvent] | None = kwargs.get(SNAPSHOTS)
        if snapshots:
            self._insert_snapshots(c, snapshots)
        hook: InTransaction | None = kwargs.get(IN_TRANSACTION)
        if hook is not None and ids:
            hook(c, ids)
        return ids

    def _insert_snapshots(self, c: SQLiteCursor, snapshots: Sequence[StoredEvent]) -> None:
        """Write each snapshot (unless one is stored at its version) and drop its thread's older ones."""
        if self.snapshots_table is None:
            raise RuntimeError("snapshots saved on a store without a snapshots table")
        rows = [
            (s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id, s.originator_version)
            for s in snapshots
        ]
        table = self.snapshots_table  # the library's table name, never a request's
        c.executemany(
            f"INSERT OR IGNORE INTO {table} VALUES (?, ?, ?, ?)",  # noqa: S608
            [(o, v, s.topic, s.state) for (o, v), s in zip(rows, snapshots, strict=True)],
        )
        c.executemany(f"DELETE FROM {table} WHERE originator_id = ? AND originator_version < ?", rows)  # noqa: S608


RECORDER_TOPIC = get_topic(SQLiteMessagingRecorder)
