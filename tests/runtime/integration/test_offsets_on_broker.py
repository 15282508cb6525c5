"""Group-less offset reads and commits (``ordertalk_runtime.offsets``) against a real broker."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from ordertalk_runtime.kafka import KafkaSettings, ensure_topics
from ordertalk_runtime.offsets import commit_offsets, committed_offsets, end_offsets, partitions_of


async def _topic_with_records(settings: KafkaSettings, count: int) -> str:
    topic = f"offsets-{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [topic])
    producer = AIOKafkaProducer(**settings.producer_kwargs())
    await producer.start()
    try:
        for _ in range(count):
            await producer.send_and_wait(topic, b"x", partition=0)
    finally:
        await producer.stop()
    return topic


async def test_a_group_is_committed_from_outside_and_read_back(kafka_settings: KafkaSettings) -> None:
    topic, group = await _topic_with_records(kafka_settings, 3), f"g-{uuid.uuid4().hex[:8]}"
    tps = await partitions_of(kafka_settings, [topic])
    first = TopicPartition(topic, 0)
    assert (await end_offsets(kafka_settings, tps))[first] == 3
    assert set((await committed_offsets(kafka_settings, group, tps)).values()) == {None}

    await commit_offsets(kafka_settings, group, {first: 2})

    committed = await committed_offsets(kafka_settings, group, tps)
    assert committed[first] == 2
    assert all(committed[tp] is None for tp in tps if tp != first)


async def test_a_group_with_live_members_refuses_the_commit(kafka_settings: KafkaSettings) -> None:
    topic, group = await _topic_with_records(kafka_settings, 1), f"g-{uuid.uuid4().hex[:8]}"
    live = AIOKafkaConsumer(topic, **kafka_settings.client_kwargs(), group_id=group, enable_auto_commit=False)
    await live.start()
    try:
        while not live.assignment():
            await live.getmany(timeout_ms=500)
        with pytest.raises(KafkaError):
            await commit_offsets(kafka_settings, group, {TopicPartition(topic, 0): 0})
    finally:
        await live.stop()
