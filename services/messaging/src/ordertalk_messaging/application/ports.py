"""Ports of the tables kept beside the event store (idempotency keys, relay positions, thread logs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Notification


@dataclass(frozen=True, slots=True)
class Replay:
    """The key was used before with the same request: answer the stored answer."""

    status: int
    body: str


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The key was used before with a different request."""


KeyUse = Replay | Mismatch | None  # None: the key is free (lookup) or now holds our answer (record)

IN_TRANSACTION = "in_transaction"
"""The ``Application.save`` keyword whose callable a recorder runs inside the events' transaction."""

SNAPSHOTS = "snapshots"
"""The ``insert_events`` keyword whose stored snapshots a recorder writes in the events' transaction."""

InTransaction = Callable[[Any, Sequence[int]], None]
"""Called with the transaction's cursor and the new events' notification ids, before the commit."""


class IdempotencyStore(Protocol):
    """Durable record of idempotency keys and the first answer given for each."""

    def lookup(self, scope: str, key: str, fingerprint: str) -> KeyUse:
        """What was answered before under ``key`` (read only; None if nothing)."""
        ...

    def lookup_many(self, requests: Sequence[tuple[str, str, str]]) -> list[KeyUse]:
        """``lookup`` for each (scope, key, fingerprint), in one query."""
        ...

    def record(self, scope: str, key: str, fingerprint: str, status: int, body: str) -> KeyUse:
        """Keep the answer under ``key`` in one commit; None if stored, else what another writer stored first."""
        ...

    def record_many_in(self, cursor: Any, answers: Sequence[tuple[str, str, str, int, str]]) -> list[KeyUse]:
        """``record`` for each (scope, key, fingerprint, status, body), in the open transaction of ``cursor``.

        Committed, or rolled back, with it; in as few statements as the store can.
        """
        ...


class PositionStore(Protocol):
    """Durable positions of readers of the event log (the relay)."""

    def get(self, name: str) -> int | None:
        """The position recorded under ``name``."""
        ...

    def put(self, name: str, position: int) -> None:
        """Record ``position`` under ``name``."""
        ...


class ThreadLog(Protocol):
    """The stored events of one thread with their global positions."""

    def notifications_of(self, thread_id: UUID) -> Sequence[Notification]:
        """Every stored event of the thread, oldest first."""
        ...

    def versions_of(self, thread_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The stored version of each of these threads (the highest version of its events), in one query."""
        ...
