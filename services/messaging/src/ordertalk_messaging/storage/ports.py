"""Ports of the tables kept beside the event store (idempotency keys, relay positions, thread logs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import Notification


@dataclass(frozen=True, slots=True)
class Claimed:
    """The key is ours to execute; ``token`` proves it when completing or releasing."""

    token: str


@dataclass(frozen=True, slots=True)
class Replay:
    """The key was used before with the same request: answer the stored answer."""

    status: int
    body: str


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The key was used before with a different request."""


@dataclass(frozen=True, slots=True)
class InProgress:
    """Another request with the same key is executing right now."""


ClaimResult = Claimed | Replay | Mismatch | InProgress


class IdempotencyStore(Protocol):
    """Durable record of idempotency keys and the first answer given for each."""

    def claim(self, scope: str, key: str, fingerprint: str) -> ClaimResult:
        """Reserve ``key`` for a request, or say what was answered before."""
        ...

    def complete(self, scope: str, key: str, token: str, status: int, body: str) -> None:
        """Keep the answer of the claimed request."""
        ...

    def release(self, scope: str, key: str, token: str) -> None:
        """Forget a claim whose request failed, so a retry executes again."""
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
