"""The consumer runtime on the real broker: every event handled, offsets committed after the writes, stalls reported."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from ordertalk_ops.lag import consumer_lag

from ordertalk_contracts import IntegrationEvent, parse
from ordertalk_runtime.consumer import Consumer, ConsumerConfig, Record
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics

GOLDEN = Path(__file__).parents[2] / "contracts" / "golden" / "v1" / "OrderRegistered.json"


class Collecting:
    """Stages event ids in ``handle`` and keeps them in ``flush``; ``gate`` can hold the handler."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    def decode(self, record: Record) -> IntegrationEvent:
        """Parse the contract."""
        return parse(record.value)

    async def handle(self, events: Sequence[IntegrationEvent]) -> list[str]:
        """Wait at the gate, then stage the ids."""
        await self.gate.wait()
        return [str(e.event_id) for e in events]

    async def flush(self, staged: Sequence[list[str]]) -> None:
        """Keep the ids."""
        for ids in staged:
            self.written += ids

    def reset(self) -> None:
        """Nothing cached."""


async def produce(kafka: KafkaSettings, topic: str, n: int) -> list[str]:
    """Produce ``n`` OrderRegistered events keyed by order; answers their ids."""
    base = json.loads(GOLDEN.read_text())
    producer = AIOKafkaProducer(**kafka.producer_kwargs())
    await producer.start()
    ids = []
    try:
        for i in range(n):
            doc = base | {"event_id": str(uuid.uuid4()), "order_id": f"o-{i % 17}"}
            ids.append(doc["event_id"])
            await producer.send(topic, json.dumps(doc).encode(), key=doc["order_id"].encode())
        await producer.flush()
    finally:
        await producer.stop()
    return ids


async def committed_lag(kafka: KafkaSettings, group: str, topic: str) -> int:
    """End offsets minus the group's committed offsets, summed over the topic's partitions."""
    return sum(row.lag for row in await consumer_lag(kafka, [group], [topic]))


async def until(check: Any, within: float, what: str) -> None:
    """Poll an async check until it is true."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_every_event_is_handled_once_and_a_second_member_resumes_from_the_commits(
    kafka_settings: KafkaSettings,
) -> None:
    topic, group = f"rt-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_settings, [topic])
    first_ids = await produce(kafka_settings, topic, 120)
    config = ConsumerConfig(name="rt", group_id=group, topics=(topic,), max_records=50)
    handler = Collecting()
    consumer = Consumer(config, kafka_settings, handler, (OSError,))
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))

    async def all_first() -> bool:
        return len(handler.written) >= len(first_ids)

    await until(all_first, 30, "the first 120 events")
    stop.set()
    await asyncio.wait_for(task, 20)
    assert sorted(handler.written) == sorted(first_ids)
    assert await committed_lag(kafka_settings, group, topic) == 0

    second_ids = await produce(kafka_settings, topic, 40)
    again = Collecting()
    stop2 = asyncio.Event()
    task2 = asyncio.create_task(Consumer(config, kafka_settings, again, (OSError,)).run(stop2))

    async def all_second() -> bool:
        return len(again.written) >= len(second_ids)

    try:
        await until(all_second, 30, "the next 40 events")
    finally:
        stop2.set()
        await asyncio.wait_for(task2, 20)
    assert sorted(again.written) == sorted(second_ids), "resumed from the committed offsets, nothing twice"


async def test_a_consumer_that_does_not_advance_while_it_has_lag_is_not_ready(kafka_settings: KafkaSettings) -> None:
    topic, group = f"rt-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_settings, [topic])
    config = ConsumerConfig(name="rt", group_id=group, topics=(topic,), stall_seconds=1.0, check_seconds=0.2)
    handler = Collecting()
    consumer = Consumer(config, kafka_settings, handler, (OSError,))
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await asyncio.wait_for(consumer.started.wait(), 30)
        await produce(kafka_settings, topic, 5)

        async def caught_up() -> bool:
            return len(handler.written) == 5 and not consumer.problems()

        await until(caught_up, 30, "the first events, ready")
        handler.gate.clear()  # the handler hangs from now on
        await produce(kafka_settings, topic, 5)

        async def stalled() -> bool:
            return any("stalled" in p and topic in p for p in consumer.problems())

        await until(stalled, 20, "a stall with lag to be reported")
        handler.gate.set()

        async def recovered() -> bool:
            return len(handler.written) == 10 and not consumer.problems()

        await until(recovered, 20, "recovery once the handler moves again")
    finally:
        handler.gate.set()
        stop.set()
        await asyncio.wait_for(task, 20)
