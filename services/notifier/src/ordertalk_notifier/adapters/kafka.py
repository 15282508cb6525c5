"""Kafka adapter: consume thread events in batches, dead-letter poison, commit only after the batch is handled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from pymongo.errors import PyMongoError

from ordertalk_contracts import ContractError, ThreadEvent, parse_thread_event
from ordertalk_contracts.topics import THREAD_EVENTS
from ordertalk_runtime.dead_letters import DeadLetter, send_dead_letter
from ordertalk_runtime.kafka import KafkaSettings
from ordertalk_runtime.metrics import DEAD_LETTERS, record_consumer_lag
from ordertalk_runtime.observability import log_handled

log = logging.getLogger(__name__)
BatchHandler = Callable[[Sequence[ThreadEvent]], Awaitable[object]]
CONSUMER = "notifier"


@dataclass
class ThreadEventConsumer:
    """Runs ``handler`` over each partition's batch; retries infrastructure errors, dead-letters poison."""

    kafka: KafkaSettings
    group_id: str
    handler: BatchHandler
    fetch_max_wait_ms: int = 10
    topic: str = THREAD_EVENTS
    retry_max_seconds: float = 5.0
    on_reassign: Callable[[], None] = lambda: None
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        """Consume until cancelled."""
        consumer = AIOKafkaConsumer(
            **self.kafka.client_kwargs(),
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.fetch_max_wait_ms,
            max_poll_records=500,
        )
        producer = AIOKafkaProducer(**self.kafka.producer_kwargs())
        await producer.start()
        try:
            await consumer.start()
            consumer.subscribe([self.topic], listener=_Reassigned(self.on_reassign))
            self.started.set()
            try:
                while True:
                    batches = await consumer.getmany(timeout_ms=1000)
                    if batches:
                        await self._handle(consumer, producer, batches)
            finally:
                await consumer.stop()
        finally:
            await producer.stop()

    async def _handle(
        self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, batches: dict[TopicPartition, list[Any]]
    ) -> None:
        """One batch over every partition fetched (each partition's records stay in order), then one commit."""
        batch: list[tuple[Any, ThreadEvent]] = []
        for records in batches.values():
            for record in records:
                try:
                    batch.append((record, parse_thread_event(record.value)))
                except ContractError as exc:
                    await self._dead_letter(producer, record, exc.reason)
        await self._flush(producer, batch)
        await consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, "") for tp, records in batches.items()})
        await record_consumer_lag(CONSUMER, consumer)

    async def _flush(self, producer: AIOKafkaProducer, batch: list[tuple[Any, ThreadEvent]]) -> None:
        if not batch:
            return
        try:
            await self._handle_retrying([event for _, event in batch])
        except Exception as exc:
            if len(batch) == 1:  # this very event cannot be handled: put it aside and carry on
                await self._dead_letter(producer, batch[0][0], f"handler failed: {type(exc).__name__}: {exc}")
                return
            log.exception("batch of %d failed; handling its events one by one", len(batch))
            for item in batch:
                await self._flush(producer, [item])
            return
        for _, event in batch:
            log_handled(log, CONSUMER, event, "handled")

    async def _handle_retrying(self, events: list[ThreadEvent]) -> None:
        delay = 0.1
        while True:
            try:
                await self.handler(events)
                return
            except (PyMongoError, OSError) as exc:
                log.warning("handling %d events failed (%s); retrying in %.1fs", len(events), exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_seconds)

    async def _dead_letter(self, producer: AIOKafkaProducer, record: Any, reason: str) -> None:
        log.warning("dead-lettering %s[%s]@%s: %s", record.topic, record.partition, record.offset, reason)
        letter = DeadLetter(
            value=record.value or b"",
            key=record.key,
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            consumer_group=self.group_id,
            reason=reason,
        )
        await send_dead_letter(producer, letter)
        DEAD_LETTERS.labels(CONSUMER).inc()


class _Reassigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tells the handler that partitions moved, so state cached for them may be stale."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback

    async def on_partitions_revoked(self, revoked: object) -> None:
        self.callback()

    async def on_partitions_assigned(self, assigned: object) -> None:
        self.callback()
