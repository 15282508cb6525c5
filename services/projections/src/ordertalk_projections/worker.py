"""Kafka entrypoint: one consumer group applies every read model; offsets committed after the writes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from ordertalk_contracts import ORDERS, THREAD_EVENTS, IntegrationEvent
from ordertalk_projections.applier import BatchApplier
from ordertalk_projections.intake import Rejected, accept
from ordertalk_projections.mongo_store import MongoReadModels
from ordertalk_projections.positions import PositionWatch
from ordertalk_projections.settings import Settings
from ordertalk_runtime.dead_letters import DeadLetter, send_dead_letter
from ordertalk_runtime.metrics import DEAD_LETTERS, record_consumer_lag
from ordertalk_runtime.observability import log_handled

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
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=200, max_records=self.settings.projections_batch)
                self.ready.set()
                records = [r for part in batches.values() for r in part]
                if records:
                    await self._handle(records, stop)
                    await consumer.commit(partition_offsets(batches))
                    await record_consumer_lag(self.group, consumer)
                if self.deferred:
                    await self._redrive()
        finally:
            self.running = False
            self.ready.clear()
            await consumer.stop()

    async def _redrive(self) -> None:
        """Apply again the threads a batch deferred (their events wait in the parked collection)."""
        ids = sorted(self.deferred)
        try:
            gen = await self.store.active_generation()
            result = await self.applier.redrive(gen, ids)
        except Exception:
            log.exception("re-applying deferred threads failed; will retry")
            return
        self.deferred = set(result.deferred_threads)
        self.applied_events += result.applied

    async def _handle(self, records: list[ConsumerRecord[Any, Any]], stop: asyncio.Event) -> None:
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
                gen = await self.store.active_generation()
                result = await self.applier.apply(gen, events)
                if result.position:
                    await self.store.record_progress(gen, self.group, result.position)
                    self.watch.advance(result.position)
                self.applied_events += result.applied
                self.deferred.update(result.deferred_threads)
                for event in events:
                    log_handled(log, self.group, event)
                return
            except Exception:
                if stop.is_set():
                    raise
                log.exception("applying a batch failed; retrying in %.1fs (offsets not committed)", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], reason: str) -> None:
        letter = DeadLetter(
            value=record.value or b"",
            key=record.key,
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            consumer_group=self.group,
            reason=reason,
        )
        await send_dead_letter(self.producer, letter)
        self.dead_letters += 1
        DEAD_LETTERS.labels(self.group).inc()
        log.warning("dead-lettered %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason)


def partition_offsets(batches: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]) -> dict[TopicPartition, int]:
    """The offsets to commit after handling ``batches``: one past the last record of each partition."""
    return {tp: part[-1].offset + 1 for tp, part in batches.items() if part}
