"""Use case: rebuild every read model into a new generation from Kafka offset zero or the event feed, then switch."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import TopicPartition as Assigned

from ordertalk_contracts import IntegrationEvent, ThreadEvent
from ordertalk_projections.adapters.feed import EventFeed
from ordertalk_projections.adapters.mongo_store import MongoReadModels, upsert_with_defaults
from ordertalk_projections.application.applier import BatchApplier
from ordertalk_projections.domain.documents import ORDER_DEFAULTS
from ordertalk_projections.domain.generations import POINTER_TTL, REBUILDS_COLLECTION, Generation
from ordertalk_projections.domain.intake import Rejected, accept
from ordertalk_projections.entrypoints.worker import TOPICS
from ordertalk_projections.settings import Settings
from ordertalk_runtime.broker import broker_for

Source = Literal["kafka", "store"]
REBUILD_ID = "current"
WRITER = "rebuild"
CHUNK = 1000
Reader = Any  # the aiokafka consumer FastStream's broker built for the rebuild's reading subscriber


class RebuildStopped(Exception):
    """The rebuild was asked to stop; its checkpoint is saved and a new run resumes it."""


class RebuildConflict(Exception):
    """The rebuild cannot run: an unfinished rebuild from another source exists, or a topic is not as configured."""


@dataclass
class ProgressLine:
    """Prints done/total, rate and ETA at most once a second."""

    label: str
    total: int
    out: TextIO = field(default_factory=lambda: sys.stderr)
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    printed: float = 0.0

    def add(self, count: int, force: bool = False) -> None:
        """Count ``count`` more events and maybe print."""
        self.done += count
        now = time.monotonic()
        if not force and now - self.printed < 1.0:
            return
        self.printed = now
        rate = self.done / max(now - self.started, 1e-6)
        total = max(self.total, self.done)
        eta = (total - self.done) / rate if rate > 0 else 0.0
        pct = 100.0 * self.done / total if total else 100.0
        self.out.write(f"{self.label}: {self.done}/{total} events ({pct:.0f}%), {rate:.0f} ev/s, ETA {eta:.0f}s\n")
        self.out.flush()

    @property
    def rate(self) -> float:
        """Events per second so far."""
        return self.done / max(time.monotonic() - self.started, 1e-6)


@dataclass
class RebuildReport:
    """The outcome of a rebuild."""

    generation: int
    events: int
    seconds: float
    rejected: int
    setup_seconds: float = 0.0  # pointer, collections, consumer start, offsets: before the first event
    load_seconds: float = 0.0  # the bulk load up to the end captured at start (the steady state)
    loaded: int = 0  # events read by the bulk load
    finish_seconds: float = 0.0  # indexes, catch-up, switch, the last read

    @property
    def rate(self) -> float:
        """Events applied per second, setup included."""
        return self.events / max(self.seconds, 1e-6)

    @property
    def load_rate(self) -> float:
        """Events read per second during the bulk load (setup and finish excluded)."""
        return self.loaded / max(self.load_seconds, 1e-6)


class Rebuilder:
    """Builds generation n+1 beside the live one, switches the pointer, then catches up."""

    def __init__(
        self,
        settings: Settings,
        store: MongoReadModels,
        feed: EventFeed | None,
        stop: asyncio.Event | None = None,
        out: TextIO | None = None,
        batch: int = 5000,
    ) -> None:
        self.settings, self.store, self.feed = settings, store, feed
        self.applier = BatchApplier(store)
        self.stop = stop or asyncio.Event()
        self.out = out or sys.stderr
        self.batch = batch
        # Chunks of a Kafka rebuild: large enough for big insert_many calls, small enough that fetching and
        # parsing the next one overlaps the writes of the previous one.
        self.chunk = max(1, min(batch, CHUNK))
        self.rejected = 0
        self.applied = 0
        self.on_batch: Callable[[], None] | None = None
        self._phases: dict[str, float] = {}
        self._loaded = 0

    def _mark(self, phase: str) -> None:
        self._phases[phase] = time.monotonic()

    @property
    def _rebuilds(self) -> Any:
        return self.store.db[REBUILDS_COLLECTION]

    async def run(self, source: Source, restart: bool = False) -> RebuildReport:
        """Rebuild (or resume an unfinished rebuild) from ``source``; switch when complete."""
        started = time.monotonic()
        state = await self._rebuilds.find_one({"_id": REBUILD_ID, "state": "running"})
        if state and (restart or state["source"] != source):
            if not restart:
                raise RebuildConflict(f"an unfinished rebuild from {state['source']} exists; pass --restart")
            await self.store.drop_generation(Generation(int(state["generation"])))
            state = None
        if state is None:
            active = await self.store.active_generation()
            gen = Generation(active.number + 1)
            await self.store.drop_generation(gen)
            state = {"_id": REBUILD_ID, "state": "running", "source": source, "generation": gen.number}
            await self._rebuilds.replace_one({"_id": REBUILD_ID}, state, upsert=True)
            await self.store.create_collections(gen)
            # Indexes are created after the bulk load (before the switch): inserting into unindexed
            # collections is cheaper, and building an index once over the loaded documents is too.
            if source == "store":
                await self._copy_orders(active, gen)
        gen = Generation(int(state["generation"]))
        self.out.write(f"rebuilding generation v{gen.number} from {source}\n")
        if source == "kafka":
            await self._from_kafka(gen, state)
        else:
            await self._from_store(gen, state)
        await self._rebuilds.update_one({"_id": REBUILD_ID}, {"$set": {"state": "done", "finished": time.time()}})
        ended = time.monotonic()
        load_start = self._phases.get("load", ended)
        load_end = self._phases.get("loaded", ended)
        return RebuildReport(
            gen.number,
            self.applied,
            ended - started,
            self.rejected,
            setup_seconds=load_start - started,
            load_seconds=load_end - load_start,
            loaded=self._loaded,
            finish_seconds=ended - load_end,
        )

    async def _apply(self, gen: Generation, events: list[IntegrationEvent], checkpoint: dict[str, Any]) -> None:
        """Apply a chunk, then save its progress and checkpoint (``$set`` on the rebuild state) together."""
        result = await self.applier.apply(gen, events)
        self.applied += result.applied
        positions = [e.position for e in events if isinstance(e, ThreadEvent)]
        save = self._rebuilds.update_one({"_id": REBUILD_ID}, {"$set": checkpoint})
        if positions:
            await asyncio.gather(self.store.record_progress(gen, WRITER, max(positions)), save)
        else:
            await save
        if self.on_batch:
            self.on_batch()

    async def _switch(self, gen: Generation) -> None:
        await self.store.switch_generation(gen)
        self.out.write(f"switched the read models to v{gen.number}\n")
        # Live workers may use the old pointer for up to POINTER_TTL: what they fetch until then is in
        # the range read after this wait.
        await asyncio.sleep(POINTER_TTL + 0.05)

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise RebuildStopped("stopped; the checkpoint is saved: run the same command again to resume")

    # -- from Kafka offset zero ----------------------------------------------------------------
    async def _from_kafka(self, gen: Generation, state: dict[str, Any]) -> None:
        # The runtime's broker reads: one subscriber with every partition of the topics assigned (no group,
        # nothing committed: the checkpoint in the rebuild state is where a resumed rebuild seeks to).
        broker = broker_for(self.settings.kafka, description="projections rebuild")
        count = self.settings.kafka.topic_partitions
        subscriber = broker.subscriber(
            partitions=[Assigned(t, p) for t in TOPICS for p in range(count)],
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=50,
            max_poll_records=self.batch,
            title="projections:rebuild",
        )
        await broker.start()
        try:
            consumer: Reader = subscriber.consumer
            await consumer.topics()
            for topic in TOPICS:
                found = consumer.partitions_for_topic(topic) or set()
                if found != set(range(count)):
                    raise RebuildConflict(f"topic {topic} has {len(found)} partitions, configured {count}")
            parts = [TopicPartition(t, p) for t in TOPICS for p in range(count)]
            checkpoint: dict[str, int] = dict(state.get("checkpoint", {}))
            begin = await consumer.beginning_offsets(parts)
            for tp in parts:
                consumer.seek(tp, checkpoint.get(_key(tp), begin[tp]))
            end = await consumer.end_offsets(parts)
            done = sum(max(0, checkpoint.get(_key(tp), begin[tp]) - begin[tp]) for tp in parts)
            progress = ProgressLine(f"v{gen.number} from kafka", sum(end[tp] - begin[tp] for tp in parts), self.out)
            progress.add(done, force=True)
            self._mark("load")
            await self._read_to(consumer, gen, parts, end, checkpoint, progress)
            self._loaded = progress.done - done
            self._mark("loaded")
            await self.store.ensure_indexes(gen)
            # Catch up with what arrived meanwhile, switch, then take what the live workers saw before the switch.
            await self._read_to(consumer, gen, parts, await consumer.end_offsets(parts), checkpoint, progress)
            await self._switch(gen)
            await self._read_to(consumer, gen, parts, await consumer.end_offsets(parts), checkpoint, progress)
            progress.add(0, force=True)
        finally:
            await broker.stop()

    async def _read_to(
        self,
        consumer: Reader,
        gen: Generation,
        parts: list[TopicPartition],
        end: dict[TopicPartition, int],
        checkpoint: dict[str, int],
        progress: ProgressLine,
    ) -> None:
        # Pipelined: the next chunk is fetched and parsed while the previous one is written (writes stay
        # in order, each chunk's checkpoint is saved after its writes).
        storing: asyncio.Task[None] | None = None
        try:
            while True:
                self._check_stop()
                chunk = await self._fetch(consumer, parts, end, checkpoint)
                if storing is not None:
                    await storing
                    storing = None
                    self._check_stop()
                if chunk is None:
                    return
                events, count, snapshot = chunk
                storing = asyncio.create_task(self._store(gen, events, count, snapshot, progress))
        finally:
            if storing is not None:
                await storing

    async def _fetch(
        self,
        consumer: Reader,
        parts: list[TopicPartition],
        end: dict[TopicPartition, int],
        checkpoint: dict[str, int],
    ) -> tuple[list[IntegrationEvent], int, dict[str, int]] | None:
        """The next chunk up to ``end``: parsed events, records read, the checkpoint after it (None: at end)."""
        while True:
            behind = [tp for tp in parts if await consumer.position(tp) < end[tp]]
            if not behind:
                return None
            events: list[IntegrationEvent] = []
            count = 0
            # Fill a whole chunk before storing it: each store costs a fixed number of round trips.
            while behind and count < self.chunk:
                batches = await consumer.getmany(*behind, timeout_ms=500, max_records=self.chunk - count)
                for tp, records in batches.items():
                    for record in records:
                        count += 1
                        outcome = accept(record.topic, record.value)
                        if isinstance(outcome, Rejected):
                            self.rejected += 1  # the live worker dead-letters it; a rebuild skips it
                        else:
                            events.append(outcome)
                    if records:
                        checkpoint[_key(tp)] = records[-1].offset + 1
                if not batches:
                    break
                behind = [tp for tp in behind if await consumer.position(tp) < end[tp]]
            if count:
                return events, count, dict(checkpoint)

    async def _store(
        self,
        gen: Generation,
        events: list[IntegrationEvent],
        count: int,
        checkpoint: dict[str, int],
        progress: ProgressLine,
    ) -> None:
        await self._apply(gen, events, {"checkpoint": checkpoint})
        progress.add(count)

    # -- from the messaging event feed -----------------------------------------------------------
    async def _from_store(self, gen: Generation, state: dict[str, Any]) -> None:
        if self.feed is None:
            raise RebuildConflict("MESSAGING_URL is not set: the event feed is needed for --source store")
        after = int(state.get("position", 0))
        first = await self.feed.read(after, 1)
        progress = ProgressLine(f"v{gen.number} from store", max(first.last_position, after), self.out)
        self._mark("load")
        after = await self._read_feed(gen, after, progress)
        self._loaded = progress.done
        self._mark("loaded")
        await self.store.ensure_indexes(gen)
        after = await self._read_feed(gen, after, progress)
        await self._switch(gen)
        await self._read_feed(gen, after, progress)
        progress.add(0, force=True)

    async def _read_feed(self, gen: Generation, after: int, progress: ProgressLine) -> int:
        assert self.feed is not None
        while True:
            self._check_stop()
            page = await self.feed.read(after, self.batch)
            self.rejected += page.rejected
            if not page.events:
                return after
            after = max(after, page.last_position)
            await self._apply(gen, page.events, {"position": after})
            progress.total = max(progress.total, after)
            progress.add(len(page.events))

    async def _copy_orders(self, source: Generation, target: Generation) -> None:
        """Orders announced on the ORDERS topic are not in the event store: carry their registration over."""
        items: list[tuple[str, dict[str, Any]]] = []
        async for doc in self.store.db[source.orders].find({"registered": True}):
            fields = {k: doc.get(k) for k in ("order_number", "customer", "customer_id", "placed_at", "placed_ts")}
            items.append((str(doc["_id"]), {**fields, "registered": True}))
            if len(items) >= 1000:
                await upsert_with_defaults(self.store.db[target.orders], items, ORDER_DEFAULTS)
                items = []
        await upsert_with_defaults(self.store.db[target.orders], items, ORDER_DEFAULTS)


def _key(tp: TopicPartition) -> str:
    return f"{tp.topic}|{tp.partition}"
