"""The notifier's /readyz tells its consumer's truth: 503 with the reason while it cannot consume, 200 once back."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.notifier.harness import NotifierProcess
from tests.support.mail import MailCatcher
from tests.support.polling import wait_for
from tests.support.readiness import BROKER_LOST_SECONDS, not_consuming, ready

from ordertalk_contracts.topics import DEAD_LETTERS, THREAD_EVENTS
from ordertalk_devstack.processes import free_port
from ordertalk_devstack.servers import start_kafka
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics


def test_readyz_is_503_naming_the_consumer_while_the_broker_is_gone_and_200_once_it_is_back(
    mongo_url: str, module_catcher: MailCatcher, server_logs: Path
) -> None:
    port = free_port()
    logs = server_logs / f"notifier-readiness-kafka-{port}"
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", enable_idempotence=False, topic_partitions=3)
    broker = start_kafka(port, logs)  # a broker of this test's own: it is stopped below
    notifier = NotifierProcess(kafka, mongo_url, module_catcher.port, server_logs)
    try:
        notifier.start()
        assert ready(notifier.url)
        broker.stop()  # the consumer's connection breaks: it stops, then tries to start again
        wait_for(
            lambda: not_consuming(notifier.url), timeout=BROKER_LOST_SECONDS, what="/readyz 503 naming the consumer"
        )
        broker = start_kafka(port, logs)  # back, empty (in-memory): the operator re-creates the topics
        asyncio.run(ensure_topics(kafka, [THREAD_EVENTS, DEAD_LETTERS]))
        wait_for(lambda: ready(notifier.url), timeout=60, what="/readyz 200 after the consumer restarted")
    finally:
        notifier.stop()
        broker.stop()
