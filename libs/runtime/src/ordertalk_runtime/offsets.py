"""Kafka without joining a group: a topic from its start to its end, end offsets, a group's commits.

The operators' tools use these (dead letters, lag, recovery); like the consumer runtime, they are the only
places that build an aiokafka consumer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from ordertalk_runtime.kafka import KafkaSettings


def _probe(settings: KafkaSettings, group: str | None = None) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(**settings.client_kwargs(), group_id=group, enable_auto_commit=False)


async def partitions_of(settings: KafkaSettings, topics: list[str]) -> list[TopicPartition]:
    """Every partition of ``topics`` that exists now (a missing topic has none)."""
    probe = _probe(settings)
    await probe.start()
    try:
        await probe.topics()
        return [TopicPartition(t, p) for t in topics for p in sorted(probe.partitions_for_topic(t) or ())]
    finally:
        await probe.stop()


async def end_offsets(settings: KafkaSettings, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    """The end offset (the next offset to be written) of each partition."""
    if not tps:
        return {}
    probe = _probe(settings)
    await probe.start()
    try:
        return dict(await probe.end_offsets(tps))
    finally:
        await probe.stop()


async def committed_offsets(
    settings: KafkaSettings, group: str, tps: list[TopicPartition]
) -> dict[TopicPartition, int | None]:
    """Committed offsets of ``group`` (asked through the group coordinator, as a member would, without joining)."""
    member = _probe(settings, group)
    await member.start()
    try:
        return {tp: await member.committed(tp) for tp in tps}
    finally:
        await member.stop()


async def commit_offsets(settings: KafkaSettings, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit ``offsets`` for ``group`` from outside it, without joining; a group with live members refuses.

    Raises the broker's ``KafkaError`` when the group refuses the commit (it has members of its own).
    """
    if not offsets:
        return
    member = _probe(settings, group)
    await member.start()
    try:
        member.assign(list(offsets))
        await member.commit(offsets)
    finally:
        await member.stop()


async def read_topic(settings: KafkaSettings, topic: str) -> AsyncIterator[Any]:
    """Every record now on ``topic``, partition by partition in offset order, without joining a consumer group."""
    consumer = _probe(settings)
    await consumer.start()
    try:
        await consumer.topics()
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not tps:
            return
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    yield record
                    if record.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
            if not batch:
                await asyncio.sleep(0)
                remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
