"""Kafka adapter: consume thread events in batches, dead-letter poison, commit only after the batch is handled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from pymongo.errors import PyMongoError

from ordertalk_contracts import ContractError, ThreadEvent, parse_thread_event
from ordertalk_contracts.topics import THREAD_EVENTS
from ordertalk_runtime.dead_letters import put_aside
from ordertalk_runtime.kafka import KafkaSettings
from ordertalk_runtime.metrics import record_consumer_lag
from ordertalk_runtime.observability import log_handled_batch

log = logging.getLogger(__name__)
BatchHandler = Callable[[Sequence[ThreadEvent]], Awaitable[object]]
Prepare = Callable[[Sequence[ThreadEvent]], Awaitable[Any]]
Persist = Callable[..., Awaitable[object]]
Offsets = dict[TopicPartition, OffsetAndMetadata]
CONSUMER = "notifier"


@dataclass
class _Write:
    """A prepared batch waiting for its writes, then for its offsets to be committed."""

    prepared: Any
    offsets: Offsets
    events: list[ThreadEvent]


@dataclass
class ThreadEventConsumer:
    """Runs ``handler`` over each fetched batch; retries infrastructure errors, dead-letters poison.

    With ``prepare`` and ``persist`` (the two halves of ``handler``), batches are pipelined: a fetched batch is
    prepared (folded in memory, alerts published) at once, while the writes of earlier batches proceed in a writer
    task that commits each batch's offsets after its writes, in order. Should a write fail for another reason than
    the infrastructure, the consumer restarts from the committed offsets and handles what it had fetched one
    ``handler`` call at a time again (smaller batches, dead letters).
    """

    kafka: KafkaSettings
    group_id: str
    handler: BatchHandler
    fetch_max_wait_ms: int = 10
    topic: str = THREAD_EVENTS
    retry_max_seconds: float = 5.0
    on_reassign: Callable[[], None] = lambda: None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    prepare: Prepare | None = None
    persist: Persist | None = None
    pipeline_depth: int = 64
    _careful_until: dict[TopicPartition, int] = field(default_factory=dict, init=False)
    _fetched: dict[TopicPartition, int] = field(default_factory=dict, init=False)

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
            writes: asyncio.Queue[_Write] = asyncio.Queue(self.pipeline_depth)
            writer = asyncio.create_task(self._writer(consumer, writes))

            async def drain() -> None:  # the writes and commits queued, unless the writer has stopped
                joined = asyncio.ensure_future(writes.join())
                await asyncio.wait([joined, writer], return_when=asyncio.FIRST_COMPLETED)
                joined.cancel()

            consumer.subscribe([self.topic], listener=_Reassigned(self.on_reassign, drain))
            self.started.set()
            try:
                while True:
                    batches = await consumer.getmany(timeout_ms=1000)
                    if writer.done():
                        writer.result()  # a write failed for good: restart from the committed offsets
                    if not batches:
                        continue
                    if self.prepare is None or self._careful(batches):
                        await writes.join()  # keep the order of the writes
                        await self._handle(consumer, producer, batches)
                    else:
                        await self._pipeline(producer, batches, writes, writer)
                    for tp, records in batches.items():
                        self._fetched[tp] = records[-1].offset + 1
            finally:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer
                await consumer.stop()
        finally:
            await producer.stop()

    def _careful(self, batches: dict[TopicPartition, list[Any]]) -> bool:
        """Whether these records were fetched before the last failed write (so handle them the careful way)."""
        careful = any(records[0].offset < self._careful_until.get(tp, -1) for tp, records in batches.items())
        if not careful:
            self._careful_until.clear()
        return careful

    async def _pipeline(
        self,
        producer: AIOKafkaProducer,
        batches: dict[TopicPartition, list[Any]],
        writes: asyncio.Queue[_Write],
        writer: asyncio.Task[None],
    ) -> None:
        """Prepare the batch now (alerts out), queue its writes and commit for the writer task."""
        assert self.prepare is not None
        events = [event for _, event in await self._parse(producer, batches)]
        offsets = {tp: OffsetAndMetadata(records[-1].offset + 1, "") for tp, records in batches.items()}
        prepared = None
        if events:
            try:
                prepared = await self._retrying(self.prepare, events)
            except Exception:
                log.exception("preparing %d events failed; handling them the careful way", len(events))
                await writes.join()
                await self._flush(producer, await self._parse(producer, batches, dead_letter=False))
                await _put(writes, writer, _Write(None, offsets, []))
                return
        await _put(writes, writer, _Write(prepared, offsets, events))

    async def _writer(self, consumer: AIOKafkaConsumer, writes: asyncio.Queue[_Write]) -> None:
        """Persist the prepared batches in order; commit each one's offsets after its writes."""
        assert self.persist is not None or self.prepare is None
        while True:
            group = [await writes.get()]  # and whatever else is queued: one write of each kind for all of them
            while not writes.empty():
                group.append(writes.get_nowait())
            try:
                prepared = [w.prepared for w in group if w.prepared is not None]
                if prepared and self.persist is not None:
                    try:
                        await self._retrying(self.persist, *prepared)
                    except Exception:
                        events = sum(len(w.events) for w in group)
                        log.exception("writing %d prepared events failed; restarting", events)
                        self._careful_until = dict(self._fetched)
                        self.on_reassign()
                        raise
                offsets: Offsets = {}
                for w in group:
                    offsets.update(w.offsets)
                await consumer.commit(offsets)
                await record_consumer_lag(CONSUMER, consumer)
                log_handled_batch(log, CONSUMER, [e for w in group for e in w.events], "handled")
            finally:
                for _ in group:
                    writes.task_done()

    async def _retrying(self, call: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        delay = 0.1
        while True:
            try:
                return await call(*args)
            except (PyMongoError, OSError) as exc:
                log.warning("handling failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_seconds)

    async def _parse(
        self, producer: AIOKafkaProducer, batches: dict[TopicPartition, list[Any]], dead_letter: bool = True
    ) -> list[tuple[Any, ThreadEvent]]:
        batch: list[tuple[Any, ThreadEvent]] = []
        for records in batches.values():
            for record in records:
                try:
                    batch.append((record, parse_thread_event(record.value)))
                except ContractError as exc:
                    if dead_letter:
                        await self._dead_letter(producer, record, exc.reason)
        return batch

    async def _handle(
        self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, batches: dict[TopicPartition, list[Any]]
    ) -> None:
        """One batch over every partition fetched (each partition's records stay in order), then one commit."""
        await self._flush(producer, await self._parse(producer, batches))
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
        log_handled_batch(log, CONSUMER, [event for _, event in batch], "handled")

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
        await put_aside(producer, record, self.group_id, reason)


async def _put(writes: asyncio.Queue[_Write], writer: asyncio.Task[None], write: _Write) -> None:
    """Queue a write, waiting while the queue is full; raise the writer's error should it stop meanwhile."""
    put = asyncio.ensure_future(writes.put(write))
    await asyncio.wait([put, writer], return_when=asyncio.FIRST_COMPLETED)
    if not put.done():
        put.cancel()
        writer.result()
        raise RuntimeError("the writer stopped")


class _Reassigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tells the handler that partitions moved, so state cached for them may be stale."""

    def __init__(self, callback: Callable[[], None], drain: Callable[[], Awaitable[None]]) -> None:
        self.callback = callback
        self.drain = drain

    async def on_partitions_revoked(self, revoked: object) -> None:
        await self.drain()  # the writes and commits of the batches already prepared
        self.callback()

    async def on_partitions_assigned(self, assigned: object) -> None:
        self.callback()
