"""A runtime consumer fed through FastStream's in-memory TestKafkaBroker, its dead letters collected."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from ordertalk_contracts.topics import DEAD_LETTERS
from ordertalk_runtime.consumer import Consumer


async def consume_in_memory(
    consumer: Consumer[Any, Any], topic: str, batches: Sequence[list[bytes]], settle_seconds: float
) -> list[dict[str, str]]:
    """Publish each batch of raw values on ``topic``, waiting until ``consumer`` settles; the dead letters' headers."""
    broker = KafkaBroker()
    consumer.attach(broker)
    letters: list[dict[str, str]] = []

    @broker.subscriber(DEAD_LETTERS)
    async def dead(message: KafkaMessage) -> None:
        letters.append(dict(message.headers))

    async with TestKafkaBroker(broker) as test_broker, consumer.working():
        for batch in batches:
            await test_broker.publish_batch(*batch, topic=topic)
            await asyncio.wait_for(consumer.settled(), settle_seconds)
    return letters
