"""`ordertalk-ops recover`'s topic and group steps on a real broker that re-created topics with its own count."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from ordertalk_ops.recover import fix_topics, realign_groups

from ordertalk_contracts.topics import DEAD_LETTERS, ORDERS, THREAD_EVENTS
from ordertalk_devstack.processes import free_port
from ordertalk_devstack.servers import start_kafka
from ordertalk_runtime.kafka import KafkaSettings
from ordertalk_runtime.topics import KafkaTopicProbe


@pytest.fixture
def settings(server_logs: Path) -> Iterator[KafkaSettings]:
    """A broker of this test's own (it deletes and creates the system's topics)."""
    port = free_port()
    proc = start_kafka(port, server_logs / f"recover-kafka-{port}")
    try:
        yield KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", enable_idempotence=False, topic_partitions=6)
    finally:
        proc.stop()


async def put(settings: KafkaSettings, topic: str, count: int) -> None:
    producer = AIOKafkaProducer(**settings.producer_kwargs())
    await producer.start()
    try:
        for n in range(count):
            await producer.send_and_wait(topic, b"x", key=str(n).encode())
    finally:
        await producer.stop()


async def partitions(settings: KafkaSettings) -> dict[str, int | None]:
    probe = KafkaTopicProbe(settings)
    try:
        return await probe.partitions([ORDERS, THREAD_EVENTS, DEAD_LETTERS])
    finally:
        await probe.close()


async def test_wrong_topics_are_re_created_and_the_shops_orders_kept(settings: KafkaSettings) -> None:
    admin = AIOKafkaAdminClient(**settings.client_kwargs())
    await admin.start()
    await admin.create_topics([NewTopic(ORDERS, 4, 1), NewTopic(THREAD_EVENTS, 4, 1)])  # as the broker re-creates
    await admin.close()
    await put(settings, ORDERS, 3)
    await put(settings, THREAD_EVENTS, 5)
    said: list[str] = []

    assert not await fix_topics(settings, drop_orders=False, say=said.append)
    assert await partitions(settings) == {ORDERS: 4, THREAD_EVENTS: 6, DEAD_LETTERS: 6}
    assert any(ORDERS in line and "refuse" in line for line in said)
    probe = KafkaTopicProbe(settings)
    try:
        assert await probe.end_offsets_total(THREAD_EVENTS, 6) == 0  # the wrong copy is gone
        assert await probe.end_offsets_total(ORDERS, 4) == 3  # the shop's records are not
    finally:
        await probe.close()

    assert await fix_topics(settings, drop_orders=True, say=said.append)
    assert await partitions(settings) == {ORDERS: 6, THREAD_EVENTS: 6, DEAD_LETTERS: 6}


async def test_groups_are_set_to_read_the_new_topic_from_its_start(settings: KafkaSettings) -> None:
    assert await fix_topics(settings, drop_orders=False, say=lambda _: None)
    await put(settings, THREAD_EVENTS, 12)
    live = AIOKafkaConsumer(THREAD_EVENTS, **settings.client_kwargs(), group_id="live-group", enable_auto_commit=False)
    await live.start()
    try:
        while not live.assignment():
            await live.getmany(timeout_ms=500)
        said: list[str] = []
        await realign_groups(settings, [("idle-group", THREAD_EVENTS), ("live-group", THREAD_EVENTS)], said.append)
    finally:
        await live.stop()
    assert said[0] == f"group idle-group on {THREAD_EVENTS}: committed offset 0 on 6 partition(s)"
    assert said[1].startswith(f"group live-group on {THREAD_EVENTS}: has live members")
    reader = AIOKafkaConsumer(**settings.client_kwargs(), group_id="idle-group", enable_auto_commit=False)
    await reader.start()
    try:
        assert [await reader.committed(TopicPartition(THREAD_EVENTS, p)) for p in range(6)] == [0] * 6
    finally:
        await reader.stop()
