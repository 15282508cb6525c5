"""Kafka adapter of the rebuild's source: every partition of the read models' topics, from offset zero or a checkpoint.

The runtime's broker reads: one subscriber with every partition of the topics assigned (no group, nothing
committed: the checkpoint the rebuild saves is where a resumed rebuild seeks to).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka import TopicPartition as Assigned

from ordertalk_contracts import IntegrationEvent
from ordertalk_projections.application.ports import LogChunk
from ordertalk_projections.application.rebuild import RebuildConflict
from ordertalk_projections.domain.intake import TOPICS, Rejected, accept
from ordertalk_runtime.broker import broker_for
from ordertalk_runtime.kafka import KafkaSettings
from ordertalk_runtime.retry import Transient, retrying

Reader = Any  # the aiokafka consumer FastStream's broker built for the rebuild's reading subscriber
TRANSIENT: Transient = (KafkaError, OSError)  # the broker's answers worth asking again (the one retry policy)


def _key(tp: TopicPartition) -> str:
    return f"{tp.topic}|{tp.partition}"


class KafkaLogReader:
    """Reads chunks of parsed events up to a target (the end offsets captured by ``set_target``)."""

    def __init__(
        self,
        consumer: Reader,
        parts: list[TopicPartition],
        begin: dict[TopicPartition, int],
        checkpoint: dict[str, int],
    ) -> None:
        self.consumer, self.parts, self.begin, self.checkpoint = consumer, parts, begin, checkpoint
        self.end: dict[TopicPartition, int] = {}
        self.already_read = sum(max(0, checkpoint.get(_key(tp), begin[tp]) - begin[tp]) for tp in parts)

    async def set_target(self) -> int:
        """Read up to the current end offsets from now on; answers how many records lie from the beginning to them."""
        self.end = await retrying(self.consumer.end_offsets, self.parts, on=TRANSIENT, what="the topics' end offsets")
        return sum(self.end[tp] - self.begin[tp] for tp in self.parts)

    async def next_chunk(self, size: int) -> LogChunk | None:
        """The next chunk up to the target: parsed events, records read, the checkpoint after it (None: at end)."""
        consumer, end, checkpoint = self.consumer, self.end, self.checkpoint
        while True:
            behind = [tp for tp in self.parts if await consumer.position(tp) < end[tp]]
            if not behind:
                return None
            events: list[IntegrationEvent] = []
            count = rejected = 0
            # Fill a whole chunk before storing it: each store costs a fixed number of round trips.
            while behind and count < size:
                batches = await consumer.getmany(*behind, timeout_ms=500, max_records=size - count)
                for tp, records in batches.items():
                    for record in records:
                        count += 1
                        outcome = accept(record.topic, record.value)
                        if isinstance(outcome, Rejected):
                            rejected += 1  # the live worker dead-letters it; a rebuild skips it
                        else:
                            events.append(outcome)
                    if records:
                        checkpoint[_key(tp)] = records[-1].offset + 1
                if not batches:
                    break
                behind = [tp for tp in behind if await consumer.position(tp) < end[tp]]
            if count:
                return LogChunk(events, count, rejected, {"checkpoint": dict(checkpoint)})


class KafkaEventLog:
    """The rebuild's EventLog port on the Kafka topics (``open`` seeks every partition to the checkpoint)."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka

    @asynccontextmanager
    async def open(self, state: dict[str, Any], batch: int) -> AsyncIterator[KafkaLogReader]:
        """A reader positioned at the checkpoint saved in the rebuild ``state`` (the beginning without one)."""
        broker = broker_for(self.kafka, description="projections rebuild")
        count = self.kafka.topic_partitions
        subscriber = broker.subscriber(
            partitions=[Assigned(t, p) for t in TOPICS for p in range(count)],
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=50,
            max_poll_records=batch,
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
            begin = await retrying(consumer.beginning_offsets, parts, on=TRANSIENT, what="the topics' first offsets")
            for tp in parts:
                consumer.seek(tp, checkpoint.get(_key(tp), begin[tp]))
            yield KafkaLogReader(consumer, parts, begin, checkpoint)
        finally:
            await broker.stop()
