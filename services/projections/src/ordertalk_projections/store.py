"""Port: what the projection use cases need from the read-model database."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Protocol

from ordertalk_contracts import MessagePostedV1, OrderRegisteredV1, ThreadEvent
from ordertalk_projections.generations import Generation
from ordertalk_projections.projector import ThreadProjection


class ReadModelWriter(Protocol):
    """Version-guarded writes of the read models of one generation (no multi-document transaction)."""

    async def load_threads(self, gen: Generation, order_ids: Iterable[str]) -> dict[str, ThreadProjection]:
        """The stored projections of these threads (absent ones are missing from the answer)."""
        ...

    async def load_parked(self, gen: Generation, order_ids: Iterable[str]) -> list[ThreadEvent]:
        """Events parked for these threads."""
        ...

    async def park(self, gen: Generation, events: list[ThreadEvent]) -> None:
        """Keep events that wait for a missing version (idempotent)."""
        ...

    async def unpark(self, gen: Generation, order_id: str, up_to_version: int) -> None:
        """Forget the parked events of a thread up to a version (they are applied)."""
        ...

    async def put_messages(self, gen: Generation, events: list[MessagePostedV1]) -> None:
        """Store posted messages (idempotent: keyed by message id)."""
        ...

    async def put_order_threads(
        self, gen: Generation, projections: list[ThreadProjection], existing: Collection[str] = ()
    ) -> None:
        """Update orders' thread fields unless a newer thread version is stored already.

        ``existing``: order ids whose orders document is known to exist (their thread was stored before).
        """
        ...

    async def put_threads(self, gen: Generation, writes: list[tuple[ThreadProjection, int]]) -> set[str]:
        """Store each thread whose stored version is still the expected one (0: absent).

        Answers the order ids whose stored version ended below the projection's (another writer
        moved them first: fold again from what is stored).
        """
        ...

    async def register_orders(self, gen: Generation, events: list[OrderRegisteredV1]) -> None:
        """Store announced orders (idempotent)."""
        ...

    async def record_progress(self, gen: Generation, writer: str, position: int) -> None:
        """Raise the writer's applied position (never lowers it)."""
        ...
