"""In-memory fakes of the storage ports, for unit tests of the layers above them."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from ordertalk_messaging.application.ports import KeyUse, Mismatch, Replay


class MemoryIdempotencyStore:
    """IdempotencyStore kept in a dict."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], tuple[str, int, str]] = {}
        self._lock = threading.Lock()

    def lookup(self, scope: str, key: str, fingerprint: str) -> KeyUse:
        """The stored answer, if any."""
        with self._lock:
            return self._use(scope, key, fingerprint)

    def lookup_many(self, requests: Sequence[tuple[str, str, str]]) -> list[KeyUse]:
        """``lookup`` for each request."""
        with self._lock:
            return [self._use(scope, key, fingerprint) for scope, key, fingerprint in requests]

    def record(self, scope: str, key: str, fingerprint: str, status: int, body: str) -> KeyUse:
        """Keep the answer unless the key holds one already."""
        with self._lock:
            found = self._use(scope, key, fingerprint)
            if found is None:
                self._rows[(scope, key)] = (fingerprint, status, body)
            return found

    def record_many_in(self, cursor: Any, answers: Sequence[tuple[str, str, str, int, str]]) -> list[KeyUse]:
        """``record`` for each answer (a dict has no transaction)."""
        return [self.record(*answer) for answer in answers]

    def _use(self, scope: str, key: str, fingerprint: str) -> KeyUse:
        row = self._rows.get((scope, key))
        if row is None:
            return None
        return Replay(row[1], row[2]) if row[0] == fingerprint else Mismatch()


class MemoryPositionStore:
    """PositionStore kept in a dict."""

    def __init__(self) -> None:
        self.positions: dict[str, int] = {}

    def get(self, name: str) -> int | None:
        """The recorded position."""
        return self.positions.get(name)

    def put(self, name: str, position: int) -> None:
        """Record a position."""
        self.positions[name] = position


class EmptyThreadLog:
    """ThreadLog of a store without events."""

    def notifications_of(self, thread_id: UUID) -> Sequence[Notification]:
        """No events."""
        return []
