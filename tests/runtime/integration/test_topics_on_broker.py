"""On a real broker: clients create no topic; the check sees a lost or re-partitioned topic; publishing refuses it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaTimeoutError, UnknownTopicOrPartitionError
from aiokafka.protocol.metadata import MetadataRequest

from ordertalk_contracts import THREAD_EVENTS
from ordertalk_devstack.processes import ManagedProcess, free_port
from ordertalk_devstack.servers import start_kafka
from ordertalk_messaging.adapters.publishing import KafkaPublisher, Outgoing
from ordertalk_runtime.kafka import KafkaSettings
from ordertalk_runtime.topics import KafkaTopicProbe, TopicCheck, TopicMismatch


@dataclass
class Broker:
    """A Tansu broker of this module's own, which a test may restart (empty) on the same port."""

    port: int
    logs: Path
    process: ManagedProcess

    @property
    def settings(self) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=f"127.0.0.1:{self.port}", enable_idempotence=False, topic_partitions=6)

    def wipe(self) -> None:
        """Kill the broker by its pid and start it again on its port: it comes back empty."""
        self.process.kill()
        self.process = start_kafka(self.port, self.logs)


@pytest.fixture
def broker(server_logs: Path) -> Iterator[Broker]:
    port = free_port()
    logs = server_logs / f"topics-kafka-{port}"
    found = Broker(port, logs, start_kafka(port, logs))
    try:
        yield found
    finally:
        found.process.stop()


@pytest.fixture
async def admin(broker: Broker) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(**broker.settings.client_kwargs())
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def test_producers_and_consumers_never_create_a_topic(broker: Broker, admin: AIOKafkaAdminClient) -> None:
    settings = broker.settings
    producer = AIOKafkaProducer(**settings.producer_kwargs(), request_timeout_ms=1500)
    await producer.start()
    try:
        with pytest.raises((KafkaTimeoutError, UnknownTopicOrPartitionError)):
            await producer.send("probe.by-producer", b"x")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        "probe.by-consumer", **settings.client_kwargs(), group_id="probe", request_timeout_ms=1500
    )
    try:
        with pytest.raises(UnknownTopicOrPartitionError):  # a consumer waits for its topic, then gives up
            await consumer.start()
    finally:
        await consumer.stop()
    assert not {"probe.by-producer", "probe.by-consumer"} & set(await admin.list_topics())

    # The broker honours the flag: the same request with creation allowed (aiokafka's default) creates the topic.
    client = AIOKafkaClient(**settings.client_kwargs())
    await client.bootstrap()
    try:
        await client.send(client.get_random_node(), MetadataRequest(["probe.allowed"], allow_auto_topic_creation=True))
    finally:
        await client.close()
    described = await admin.describe_topics(["probe.allowed"])
    assert len(described[0]["partitions"]) == 4  # the broker's default, not ours


async def test_the_check_sees_a_missing_and_a_mis_partitioned_topic(broker: Broker, admin: AIOKafkaAdminClient) -> None:
    await admin.create_topics([NewTopic("t.right", 6, 1), NewTopic("t.wrong", 4, 1)])
    check = TopicCheck({"t.right": 6, "t.wrong": 6, "t.gone": 6}, KafkaTopicProbe(broker.settings))
    try:
        assert await check.check() == {
            "t.wrong": "topic t.wrong has 4 partitions, configured 6",
            "t.gone": "topic t.gone is missing (configured with 6 partitions)",
        }
    finally:
        await check.probe.close()
    assert "t.gone" not in await admin.list_topics()  # asking did not create it


async def test_the_publisher_refuses_a_wiped_or_re_partitioned_topic(broker: Broker) -> None:
    settings = broker.settings
    admin = AIOKafkaAdminClient(**settings.client_kwargs())
    await admin.start()
    await admin.create_topics([NewTopic(THREAD_EVENTS, 6, 1)])
    await admin.close()
    publisher = KafkaPublisher(settings)
    record = Outgoing(b"order-1", b"{}")
    try:
        await publisher.publish([record])
        assert not await publisher.holds_nothing()

        broker.wipe()  # the producer's cached metadata still says 6 partitions; the broker would take the record
        seen: TopicMismatch | None = None
        for _ in range(100):
            try:
                await publisher.verify()
            except TopicMismatch as exc:
                seen = exc
                break
            except Exception:  # the broker is still coming back
                await asyncio.sleep(0.1)
        assert seen is not None and "is missing" in str(seen), "the publisher never saw the topic missing"
        with pytest.raises(TopicMismatch):
            await publisher.publish([record])

        admin = AIOKafkaAdminClient(**settings.client_kwargs())
        await admin.start()
        await admin.create_topics([NewTopic(THREAD_EVENTS, 4, 1)])  # as the broker would re-create it
        with pytest.raises(TopicMismatch, match="has 4 partitions, configured 6"):
            await publisher.publish([record])
        await admin.delete_topics([THREAD_EVENTS])
        await admin.create_topics([NewTopic(THREAD_EVENTS, 6, 1)])
        await admin.close()
        assert await publisher.holds_nothing()
        await publisher.publish([record])
        assert not await publisher.holds_nothing()
    finally:
        await publisher.close()
