"""Operator tools against the real broker: consumer lag and dead-letter inspection/re-drive."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from ordertalk_ops.dead_letters import read_dead_letters, redrive
from ordertalk_ops.lag import consumer_lag, lag_rows

from ordertalk_runtime.dead_letters import DeadLetter, send_dead_letter
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics


def test_lag_rows_count_uncommitted_partitions_of_a_consumed_topic_from_zero() -> None:
    a, b = TopicPartition("t", 0), TopicPartition("t", 1)
    rows = lag_rows("g", {a: 3, b: None}, {b: 5, a: 10})
    assert [(r.partition, r.lag) for r in rows] == [(0, 7), (1, 5)]


def test_lag_rows_leave_out_topics_the_group_never_consumed() -> None:
    mine, other = TopicPartition("mine", 0), TopicPartition("other", 0)
    rows = lag_rows("g", {mine: 4, other: None}, {mine: 4, other: 1277})
    assert [(r.topic, r.lag) for r in rows] == [("mine", 0)]


def test_an_end_offset_below_the_committed_one_is_no_lag() -> None:
    tp = TopicPartition("t", 0)
    assert [r.lag for r in lag_rows("g", {tp: 8}, {tp: 7})] == [0]


async def test_consumer_lag_reports_what_a_group_has_not_consumed(kafka_settings: KafkaSettings) -> None:
    topic, group = f"lag-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_settings, [topic])
    producer = AIOKafkaProducer(**kafka_settings.producer_kwargs())
    await producer.start()
    try:
        for _ in range(10):
            await producer.send_and_wait(topic, b"x", key=b"same-key", partition=0)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        **kafka_settings.client_kwargs(), group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    consumer.assign([TopicPartition(topic, 0)])
    await consumer.start()
    try:
        await consumer.commit({TopicPartition(topic, 0): 4})
    finally:
        await consumer.stop()
    rows = await consumer_lag(kafka_settings, [group], [topic])
    assert [(r.partition, r.committed, r.end, r.lag) for r in rows if r.partition == 0] == [(0, 4, 10, 6)]
    assert sum(r.lag for r in rows) == 6


async def test_dead_letters_are_listed_with_their_reason_and_redriven_to_the_source(
    kafka_settings: KafkaSettings,
) -> None:
    dlq, source = f"dlq-{uuid.uuid4().hex[:8]}", f"src-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_settings, [dlq, source])
    producer = AIOKafkaProducer(**kafka_settings.producer_kwargs())
    await producer.start()
    try:
        letter = DeadLetter(b"{bad", b"order-1", source, 0, 7, "projections", "not JSON")
        await send_dead_letter(producer, letter, topic=dlq)
    finally:
        await producer.stop()
    letters = [x async for x in read_dead_letters(kafka_settings, topic=dlq)]
    assert [(x.value, x.reason, x.source_topic) for x in letters] == [(b"{bad", "not JSON", source)]
    assert await redrive(kafka_settings, letters) == 1
    consumer = AIOKafkaConsumer(source, **kafka_settings.client_kwargs(), auto_offset_reset="earliest")
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"order-1", b"{bad")
