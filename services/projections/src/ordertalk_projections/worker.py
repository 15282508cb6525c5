"""Kafka entrypoint: one consumer group applies every read model; offsets committed after the writes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from ordertalk_contracts import ORDERS, THREAD_EVENTS, IntegrationEvent
from ordertalk_projections.applier import BatchApplier
from ordertalk_projections.generations import POINTER_TTL, Generation
from ordertalk_projections.intake import Rejected, accept
from ordertalk_projections.mongo_store import MongoReadModels
from ordertalk_projections.positions import PositionWatch
from ordertalk_projections.settings import Settings
from ordertalk_runtime.dead_letters import put_aside
from ordertalk_runtime.metrics import record_consumer_lag
from ordertalk_runtime.observability import log_handled_batch

log = logging.getLogger(__name__)
TOPICS = (THREAD_EVENTS, ORDERS)


class ProjectionWorker:
    """Consumes thread events and orders, applies them, dead-letters poison, then commits."""

    def __init__(
        self,
        settings: Settings,
        store: MongoReadModels,
        applier: BatchApplier,
        producer: AIOKafkaProducer,
        watch: PositionWatch,
    ) -> None:
        self.settings, self.store, self.applier = settings, store, applier
        self.producer, self.watch = producer, watch
        self.group = settings.projections_group
        self.ready = asyncio.Event()
        self.applied_events = 0
        self.dead_letters = 0
        self.running = False
        self.deferred: set[str] = set()
        self._gen: Generation | None = None
        self._gen_read_at = 0.0

    async def generation(self, fetched_at: float) -> Generation:
        """The active generation for records fetched at ``fetched_at`` (monotonic seconds).

        The pointer is read again when the cached read started more than POINTER_TTL before the fetch:
        a rebuild waits POINTER_TTL after its switch before its final catch-up, so records fetched while
        the old generation was still in use are read into the new one as well.
        """
        if self._gen is None or fetched_at - self._gen_read_at >= POINTER_TTL:
            started = time.monotonic()
            self._gen = await self.store.active_generation()
            self._gen_read_at = started
        return self._gen

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *TOPICS,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.settings.projections_fetch_max_wait_ms,
            max_poll_records=self.settings.projections_batch,
            **self.settings.kafka.client_kwargs(),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; a failing consumer (lost group, broker error) is started again."""
        delay = 0.5
        while not stop.is_set():
            try:
                await self._consume(stop)
            except Exception:
                if stop.is_set():
                    raise
                log.exception("the consumer failed; starting it again in %.1fs (uncommitted events come again)", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _consume(self, stop: asyncio.Event) -> None:
        consumer = self._consumer()
        await consumer.start()
        self.running = True
        # The progress write and offset commit of a batch run while the next batch is applied (they follow
        # that batch's writes; commits stay in order: each waits for the previous one).
        finishing: asyncio.Task[None] | None = None
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=200, max_records=self.settings.projections_batch)
                fetched_at = time.monotonic()
                self.ready.set()
                records = [r for part in batches.values() for r in part]
                if records:
                    gen, position = await self._handle(records, stop, fetched_at)
                    if finishing is not None:
                        await finishing
                    finishing = asyncio.create_task(self._finish(consumer, partition_offsets(batches), gen, position))
                    await record_consumer_lag(self.group, consumer)
                elif finishing is not None:
                    await finishing
                    finishing = None
                if self.deferred:
                    await self._redrive()
            if finishing is not None:
                await finishing
        finally:
            self.running = False
            self.ready.clear()
            if finishing is not None and not finishing.done():
                with contextlib.suppress(Exception):
                    await finishing
            await consumer.stop()

    async def _finish(
        self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int], gen: Generation, position: int
    ) -> None:
        """After a batch's writes: raise the shared progress (readers in other processes) and commit."""
        if position:
            await asyncio.gather(self.store.record_progress(gen, self.group, position), consumer.commit(offsets))
        else:
            await consumer.commit(offsets)

    async def _redrive(self) -> None:
        """Apply again the threads a batch deferred (their events wait in the parked collection)."""
        ids = sorted(self.deferred)
        try:
            gen = await self.generation(time.monotonic())
            result = await self.applier.redrive(gen, ids)
        except Exception:
            log.exception("re-applying deferred threads failed; will retry")
            return
        self.deferred = set(result.deferred_threads)
        self.applied_events += result.applied

    async def _handle(
        self, records: list[ConsumerRecord[Any, Any]], stop: asyncio.Event, fetched_at: float
    ) -> tuple[Generation, int]:
        """Apply a batch (retrying with back-off); answers the generation and the position it reached."""
        events: list[IntegrationEvent] = []
        for record in records:
            outcome = accept(record.topic, record.value)
            if isinstance(outcome, Rejected):
                await self._dead_letter(record, outcome.reason)
            else:
                events.append(outcome)
        delay = 0.1
        while True:
            try:
                gen = await self.generation(fetched_at)
                result = await self.applier.apply(gen, events)
            except Exception:
                if stop.is_set():
                    raise
                log.exception("applying a batch failed; retrying in %.1fs (offsets not committed)", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if result.position:
                self.watch.advance(result.position)  # stored: readers in this process see it now
            self.applied_events += result.applied
            self.deferred.update(result.deferred_threads)
            log_handled_batch(log, self.group, events)
            return gen, result.position

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], reason: str) -> None:
        await put_aside(self.producer, record, self.group, reason)
        self.dead_letters += 1


def partition_offsets(batches: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]) -> dict[TopicPartition, int]:
    """The offsets to commit after handling ``batches``: one past the last record of each partition."""
    return {tp: part[-1].offset + 1 for tp, part in batches.items() if part}
