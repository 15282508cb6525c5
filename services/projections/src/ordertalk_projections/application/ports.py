"""Ports: what the projection use cases need from the read-model database (writes, healing, reads)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Protocol

from ordertalk_threadstate import BellCounts

from ordertalk_contracts import MessagePostedV1, OrderRegisteredV1, ThreadEvent
from ordertalk_projections.domain.documents import Document
from ordertalk_projections.domain.generations import Generation
from ordertalk_projections.domain.projector import ThreadProjection
from ordertalk_projections.domain.reading import OrderMessages, ThreadType, Viewer


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


class ParkedThreads(Protocol):
    """What the healing pass needs of the store: the active generation's parked threads."""

    async def active_generation(self) -> Generation:
        """The generation the pointer names."""
        ...

    async def parked_threads(self, gen: Generation) -> list[tuple[str, int]]:
        """(order id, earliest parked position) of every thread that waits for missing events."""
        ...

    async def load_threads(self, gen: Generation, order_ids: Iterable[str]) -> dict[str, ThreadProjection]:
        """The stored projections of these threads."""
        ...

    async def set_aside_parked(self, gen: Generation, order_ids: list[str]) -> list[ThreadEvent]:
        """Move these threads' parked events to the refuted held events; answer them."""
        ...


class ReadModelReader(Protocol):
    """The API's reads of the read models: pages, single documents and the bell, for one viewer."""

    async def ping(self) -> bool:
        """Whether the database answers."""
        ...

    async def active_generation_and_position(self) -> tuple[Generation, int]:
        """The active generation and the highest position applied to it."""
        ...

    async def thread_position(self, gen: Generation, order_id: str) -> int | None:
        """The position a stored thread has reached (None: no such thread)."""
        ...

    async def threads(
        self, gen: Generation, viewer: Viewer, q: str | None, kind: ThreadType, page: int, per_page: int
    ) -> tuple[list[Document], int]:
        """Page ``page`` of the viewer's conversations of kind ``kind`` matching ``q``, and the total."""
        ...

    async def thread(self, gen: Generation, viewer: Viewer, order_id: str) -> Document | None:
        """One thread the viewer may see."""
        ...

    async def messages(self, gen: Generation, order_id: str) -> list[Document]:
        """Every message of a thread, oldest first."""
        ...

    async def orders(
        self, gen: Generation, viewer: Viewer, messages: OrderMessages, page: int, per_page: int
    ) -> tuple[list[Document], int]:
        """Page ``page`` of the viewer's orders with these messages, and the total."""
        ...

    async def order(self, gen: Generation, viewer: Viewer, order_id: str) -> Document | None:
        """One order the viewer may see."""
        ...

    async def bell(self, gen: Generation, viewer: Viewer) -> BellCounts:
        """The viewer's bell, each figure counted with its list's filter."""
        ...
