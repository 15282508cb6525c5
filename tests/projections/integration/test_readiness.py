"""Readiness tells the consumer's truth: /readyz answers 503 with its reason while it cannot consume."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.projections.harness import serve
from tests.support.polling import wait_for
from tests.support.readiness import BROKER_LOST_SECONDS, not_consuming, ready, readyz

from ordertalk_contracts.topics import ALL_TOPICS
from ordertalk_devstack.processes import free_port
from ordertalk_devstack.servers import start_kafka
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics


def test_readyz_is_503_with_the_reason_while_the_broker_is_gone_and_200_once_it_is_back(
    mongo_url: str, server_logs: Path
) -> None:
    port = free_port()
    logs = server_logs / f"readiness-kafka-{port}"
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", enable_idempotence=False, topic_partitions=3)
    broker = start_kafka(port, logs)
    try:
        with serve(kafka, mongo_url, server_logs) as service:
            assert ready(service.url)
            broker.stop()  # the consumer's connection breaks: it stops, then tries to start again
            wait_for(
                lambda: not_consuming(service.url), timeout=BROKER_LOST_SECONDS, what="/readyz 503 naming the consumer"
            )
            body = readyz(service.url)
            assert body is not None and body.json()["workers"] is False
            broker = start_kafka(port, logs)  # back, empty (in-memory): the operator re-creates the topics
            asyncio.run(ensure_topics(kafka, list(ALL_TOPICS)))
            wait_for(lambda: ready(service.url), timeout=60, what="/readyz 200 after the consumer restarted")
    finally:
        broker.stop()
