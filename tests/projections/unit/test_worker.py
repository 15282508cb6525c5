"""The projections' handler on the consumer runtime, under FastStream's TestKafkaBroker and an in-memory store."""

from __future__ import annotations

import asyncio

from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from tests.projections.scripts import Positions, ThreadScript
from tests.projections.unit.test_applier import MemoryStore

from ordertalk_contracts import DEAD_LETTERS, ORDERS, THREAD_EVENTS, dump
from ordertalk_projections.application.applier import BatchApplier
from ordertalk_projections.application.positions import PositionWatch
from ordertalk_projections.domain.generations import POINTER_TTL, Generation
from ordertalk_projections.entrypoints.worker import Progress, ProjectionWorker, projection_consumer
from ordertalk_projections.settings import Settings


class ProgressMemoryStore(MemoryStore):
    """The in-memory store with a generation pointer and the progress per (generation, writer)."""

    def __init__(self) -> None:
        super().__init__()
        self.active = Generation(1)
        self.pointer_reads = 0
        self.progress: dict[tuple[int, str], int] = {}

    async def active_generation(self) -> Generation:
        self.pointer_reads += 1
        return self.active

    async def record_progress(self, gen: Generation, writer: str, position: int) -> None:
        key = (gen.number, writer)
        self.progress[key] = max(self.progress.get(key, 0), position)


def worker_of(store: ProgressMemoryStore) -> tuple[ProjectionWorker, PositionWatch]:
    watch = PositionWatch()
    return ProjectionWorker(store, BatchApplier(store), watch, "g-proj"), watch


async def test_batches_are_applied_progress_recorded_and_poison_dead_lettered() -> None:
    store = ProgressMemoryStore()
    worker, watch = worker_of(store)
    consumer = projection_consumer(Settings(projections_group="g-proj"), worker)
    broker = KafkaBroker()
    consumer.attach(broker)
    letters: list[str] = []

    @broker.subscriber(DEAD_LETTERS)
    async def dead(message: KafkaMessage) -> None:
        letters.append(dict(message.headers)["dlq.reason"])

    s = ThreadScript.new(Positions(100))
    thread = [s.start(), s.post("one"), s.post("two")]
    order = s.registered()
    async with TestKafkaBroker(broker) as tb, consumer.working():
        await tb.publish_batch(*(dump(e) for e in thread), b"not json", topic=THREAD_EVENTS)
        await tb.publish(dump(order), topic=ORDERS)
        await tb.publish(dump(s.post("on the wrong topic")), topic=ORDERS)
        await asyncio.wait_for(consumer.settled(), 5)

    assert store.threads[s.order_id].state.version == 3
    assert s.order_id in store.orders
    assert watch.position == thread[-1].position
    assert store.progress == {(1, "g-proj"): thread[-1].position}
    assert len(letters) == 2 and any(r.startswith("not JSON") for r in letters)
    assert any("does not belong on" in r for r in letters)
    assert consumer.dead_lettered == 2 and worker.applied_events == 3


async def test_flush_records_the_highest_position_of_each_generation() -> None:
    store = ProgressMemoryStore()
    worker, _ = worker_of(store)
    await worker.flush([Progress(Generation(1), 7), Progress(Generation(1), 5), Progress(Generation(2), 9)])
    await worker.flush([Progress(Generation(2), 0)])  # a batch of orders only: nothing to raise
    assert store.progress == {(1, "g-proj"): 7, (2, "g-proj"): 9}


async def test_the_pointer_is_read_again_after_its_ttl_and_after_a_reset() -> None:
    store = ProgressMemoryStore()
    worker, _ = worker_of(store)
    first = await worker.generation(0.0)
    store.active = Generation(2)  # a rebuild switched
    assert await worker.generation(0.0) == first  # cached: fetched within the TTL of the read
    read_at = worker._gen_read_at
    assert await worker.generation(read_at + POINTER_TTL) == Generation(2)
    store.active = Generation(3)
    worker.reset()
    assert await worker.generation(read_at) == Generation(3)
    assert store.pointer_reads == 3
