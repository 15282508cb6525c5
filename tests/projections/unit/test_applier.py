"""The batch applier against an in-memory store: cache behind the guard, and a thread that keeps changing."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable

from tests.projections.scripts import Positions, ThreadScript

from ordertalk_contracts import IntegrationEvent, MessagePostedV1, OrderRegisteredV1, ThreadEvent
from ordertalk_projections.application.applier import MAX_ATTEMPTS, BatchApplier
from ordertalk_projections.domain.generations import Generation
from ordertalk_projections.domain.projector import ThreadProjection, fold

GEN = Generation(1)


class MemoryStore:
    """A ReadModelWriter in memory; ``rival`` moves a thread under every guarded write while it is set."""

    def __init__(self) -> None:
        self.threads: dict[str, ThreadProjection] = {}
        self.parked: dict[tuple[str, int], ThreadEvent] = {}
        self.messages: set[str] = set()
        self.orders: set[str] = set()
        self.rival: str | None = None
        self.rival_writes = 0
        self.loads = 0

    async def load_threads(self, gen: Generation, order_ids: Iterable[str]) -> dict[str, ThreadProjection]:
        self.loads += 1
        return {o: self.threads[o] for o in order_ids if o in self.threads}

    async def load_parked(self, gen: Generation, order_ids: Iterable[str]) -> list[ThreadEvent]:
        ids = set(order_ids)
        return [e for (o, _), e in sorted(self.parked.items()) if o in ids]

    async def park(self, gen: Generation, events: list[ThreadEvent]) -> None:
        self.parked.update({(e.order_id, e.thread_version): e for e in events})

    async def unpark(self, gen: Generation, order_id: str, up_to_version: int) -> None:
        for key in [k for k in self.parked if k[0] == order_id and k[1] <= up_to_version]:
            del self.parked[key]

    async def put_messages(self, gen: Generation, events: list[MessagePostedV1]) -> None:
        self.messages.update(str(e.message_id) for e in events)

    async def put_order_threads(
        self, gen: Generation, projections: list[ThreadProjection], existing: Collection[str] = ()
    ) -> None:
        self.orders.update(p.state.order_id for p in projections)

    async def put_threads(self, gen: Generation, writes: list[tuple[ThreadProjection, int]]) -> set[str]:
        behind: set[str] = set()
        for projection, expected in writes:
            oid = projection.state.order_id
            if oid == self.rival:
                # Another writer stores a different (older-looking) document first: the guard misses.
                self.rival_writes += 1
                behind.add(oid)
                continue
            stored = self.threads.get(oid)
            if (stored.state.version if stored else 0) == expected:
                self.threads[oid] = projection
            elif stored is None or stored.state.version < projection.state.version:
                behind.add(oid)
        return behind

    async def register_orders(self, gen: Generation, events: list[OrderRegisteredV1]) -> None:
        self.orders.update(e.order_id for e in events)

    async def record_progress(self, gen: Generation, writer: str, position: int) -> None:
        return None


def test_cached_threads_are_not_read_again_and_a_stale_cache_is_repaired() -> None:
    store, positions = MemoryStore(), Positions()
    s = ThreadScript.new(positions)
    applier = BatchApplier(store)

    async def go() -> None:
        await applier.apply(GEN, [s.start()])
        await applier.apply(GEN, [s.post("one")])
        assert store.loads == 1  # the second batch folded from the cache
        # Another process moves the thread: the cached copy is stale, the guard misses, the applier re-reads.
        store.threads[s.order_id] = fold(store.threads[s.order_id], [s.post("two")]).projection  # type: ignore[assignment]
        result = await applier.apply(GEN, [s.post("three")])
        assert result.applied == 1 and not result.deferred_threads

    asyncio.run(go())
    assert store.threads[s.order_id] == fold(None, s.events).projection


def test_a_thread_that_keeps_changing_is_deferred_not_stalling_the_batch() -> None:
    store, positions = MemoryStore(), Positions()
    busy, calm = ThreadScript.new(positions), ThreadScript.new(positions)
    order = ThreadScript.new(positions).registered()
    events: list[IntegrationEvent] = [busy.start(), calm.start(), busy.post("hi"), calm.post("hello"), order]
    store.rival = busy.order_id
    applier = BatchApplier(store)

    result = asyncio.run(applier.apply(GEN, events))
    # The batch completes: the calm thread and the announced order are stored, the busy thread is deferred.
    assert store.rival_writes == MAX_ATTEMPTS
    assert result.deferred_threads == [busy.order_id]
    assert store.threads[calm.order_id] == fold(None, calm.events).projection
    assert order.order_id in store.orders
    assert busy.order_id not in store.threads
    assert sorted(v for o, v in store.parked if o == busy.order_id) == [1, 2]
    assert result.position < min(e.position for e in busy.events)  # read-your-writes does not cover it

    store.rival = None  # the other writer stops: the next pass applies the parked events
    again = asyncio.run(applier.redrive(GEN, result.deferred_threads))
    assert again.applied == 2 and not again.deferred_threads
    assert store.threads[busy.order_id] == fold(None, busy.events).projection
    assert not store.parked
