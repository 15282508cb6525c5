"""Messaging's /readyz carries the orders consumer's truth: 503 naming it while it cannot consume, 200 once back."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
from tests.messaging.conftest import service_env
from tests.support.polling import wait_for
from tests.support.readiness import BROKER_LOST_SECONDS

from ordertalk_contracts.topics import ALL_TOPICS
from ordertalk_devstack.processes import ManagedProcess, free_port, python_argv
from ordertalk_devstack.servers import start_kafka
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics


def readyz(url: str) -> httpx.Response | None:
    """The readiness answer (None: no answer)."""
    try:
        return httpx.get(f"{url}/readyz", timeout=5)
    except httpx.HTTPError:
        return None


def orders_consumer_down(url: str, group: str) -> bool:
    """/readyz answers 503 and names the orders consumer's group."""
    r = readyz(url)
    reasons = r.json().get("reasons", []) if r is not None and r.status_code == 503 else []
    return any(group in x and "not consuming" in x for x in reasons)


def ready(url: str) -> bool:
    """/readyz answers 200."""
    r = readyz(url)
    return r is not None and r.status_code == 200


def test_readyz_is_503_naming_the_orders_consumer_while_the_broker_is_gone(tmp_path: Path, server_logs: Path) -> None:
    port = free_port()
    logs = server_logs / f"messaging-readiness-kafka-{port}"
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", enable_idempotence=False, topic_partitions=3)
    broker = start_kafka(port, logs)  # a broker of this test's own: it is stopped below
    group = f"messaging-readiness-{uuid.uuid4().hex[:8]}"
    http = free_port()
    url = f"http://127.0.0.1:{http}"
    argv = python_argv("-m", "ordertalk_messaging", "serve", "--host", "127.0.0.1", "--port", str(http))
    env = service_env(kafka, tmp_path / "es.sqlite", ORDERS_CONSUMER_GROUP=group)
    service = ManagedProcess("messaging", argv, server_logs / f"messaging-readiness-{http}.log", env=env)
    try:
        service.start(lambda: ready(url), timeout=60)
        broker.stop()  # the consumer's connection breaks: it stops, then tries to start again
        wait_for(
            lambda: orders_consumer_down(url, group),
            timeout=BROKER_LOST_SECONDS,
            what="/readyz 503 naming the orders consumer",
        )
        broker = start_kafka(port, logs)  # back, empty (in-memory): the operator re-creates the topics
        asyncio.run(ensure_topics(kafka, list(ALL_TOPICS)))
        wait_for(lambda: ready(url), timeout=90, what="/readyz 200 after the orders consumer restarted")
    finally:
        service.stop()
        broker.stop()
