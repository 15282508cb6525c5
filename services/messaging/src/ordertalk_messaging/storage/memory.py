"""In-memory fakes of the storage ports, for unit tests of the layers above them."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import Notification

from ordertalk_messaging.storage.ports import Claimed, ClaimResult, InProgress, Mismatch, Replay


class MemoryIdempotencyStore:
    """IdempotencyStore kept in a dict."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], tuple[str, str, int | None, str | None]] = {}
        self._lock = threading.Lock()

    def claim(self, scope: str, key: str, fingerprint: str) -> ClaimResult:
        """Reserve or report the key."""
        with self._lock:
            row = self._rows.get((scope, key))
            if row is None:
                token = uuid.uuid4().hex
                self._rows[(scope, key)] = (fingerprint, token, None, None)
                return Claimed(token)
            if row[0] != fingerprint:
                return Mismatch()
            if row[2] is None or row[3] is None:
                return InProgress()
            return Replay(row[2], row[3])

    def complete(self, scope: str, key: str, token: str, status: int, body: str) -> None:
        """Keep the answer."""
        with self._lock:
            row = self._rows.get((scope, key))
            if row is not None and row[1] == token:
                self._rows[(scope, key)] = (row[0], token, status, body)

    def release(self, scope: str, key: str, token: str) -> None:
        """Drop the claim."""
        with self._lock:
            row = self._rows.get((scope, key))
            if row is not None and row[1] == token:
                del self._rows[(scope, key)]


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
