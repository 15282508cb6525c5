"""A Kafka-protocol broker for a group of tests: configured, a container, or a fresh Tansu."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ordertalk_devstack.processes import free_port
from ordertalk_devstack.servers import start_kafka
from ordertalk_runtime.kafka import KafkaSettings
from tests.support.containers import use_containers


@contextmanager
def kafka_broker(log_dir: Path) -> Iterator[KafkaSettings]:
    """KAFKA_BOOTSTRAP_SERVERS if set; a KRaft container with TESTCONTAINERS=1; else a new Tansu."""
    if "KAFKA_BOOTSTRAP_SERVERS" in os.environ:
        yield KafkaSettings()
        return
    if use_containers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            yield KafkaSettings(bootstrap_servers=kafka.get_bootstrap_server(), topic_partitions=3)
        return
    port = free_port()
    proc = start_kafka(port, log_dir / f"kafka-{port}")
    try:
        yield KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", enable_idempotence=False, topic_partitions=3)
    finally:
        proc.stop()
