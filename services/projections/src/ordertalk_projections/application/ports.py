"""Ports: what the projection use cases need from the read-model database (writes, healing, reads)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from ordertalk_threadstate import BellCounts

from ordertalk_contracts import IntegrationEvent, MessagePostedV1, OrderRegisteredV1, ThreadEvent
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

    async def messages(
        self, gen: Generation, order_id: str, before_seq: int | None, limit: int
    ) -> tuple[list[Document], bool]:
        """A page of a thread's messages: the latest ``limit`` with a seq below ``before_seq`` (None: the latest),
        oldest first, and whether older messages exist before it."""
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


class RebuildStore(ReadModelWriter, Protocol):
    """What a rebuild needs of the store beyond the writes: generations, indexes, its own saved state."""

    async def active_generation(self) -> Generation:
        """The generation the pointer names."""
        ...

    async def switch_generation(self, gen: Generation) -> None:
        """Point the API and the workers at ``gen``."""
        ...

    async def create_collections(self, gen: Generation) -> None:
        """Create the (empty) collections of a generation."""
        ...

    async def ensure_indexes(self, gen: Generation) -> None:
        """Create the indexes of a generation."""
        ...

    async def drop_generation(self, gen: Generation) -> None:
        """Remove every collection of a generation."""
        ...

    async def copy_registered_orders(self, source: Generation, target: Generation) -> None:
        """Carry the registrations of orders announced on the ORDERS topic over to ``target``."""
        ...

    async def running_rebuild(self) -> dict[str, Any] | None:
        """The saved state of an unfinished rebuild (source, generation, checkpoint), if any."""
        ...

    async def save_rebuild(self, state: dict[str, Any]) -> None:
        """Replace the saved rebuild state."""
        ...

    async def update_rebuild(self, fields: dict[str, Any]) -> None:
        """Set fields of the saved rebuild state (its checkpoint, its end)."""
        ...


@dataclass(frozen=True, slots=True)
class LogChunk:
    """A chunk read from the event log: parsed events, records read, rejected records, the checkpoint after it."""

    events: list[IntegrationEvent]
    count: int
    rejected: int
    checkpoint: dict[str, Any]


class LogReader(Protocol):
    """An event log opened at a checkpoint, read in chunks up to a target."""

    already_read: int  # records before the checkpoint

    async def set_target(self) -> int:
        """Read up to the log's current end from now on; answers the records from its beginning to that end."""
        ...

    async def next_chunk(self, size: int) -> LogChunk | None:
        """The next chunk (at most ``size`` records) up to the target; None at the target."""
        ...


class EventLog(Protocol):
    """The ordered log a rebuild reads from its beginning (Kafka)."""

    def open(self, state: dict[str, Any], batch: int) -> AbstractAsyncContextManager[LogReader]:
        """A reader at the checkpoint saved in a rebuild's ``state`` (the beginning without one)."""
        ...
