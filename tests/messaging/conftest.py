"""Fixtures of the messaging tests: the service as a subprocess on a free port, topic readers, tokens."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from tests.support.postgres import PostgresParams
from tests.support.readiness import ready

from ordertalk_contracts import ORDERS, Customer, OrderRegisteredV1, dump
from ordertalk_devstack.processes import ManagedProcess, free_port, python_argv
from ordertalk_messaging.settings import Settings
from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec
from ordertalk_runtime.kafka import KafkaSettings

SECRET = "messaging-test-secret-0123456789"
CODEC = TokenCodec(AuthSettings(jwt_secret=SECRET))


def token(role: str, sub: str, name: str = "") -> str:
    """A bearer token for the test service."""
    return CODEC.mint(Principal(role=role, subject=sub, display_name=name or sub))  # type: ignore[arg-type]


def bearer(role: str, sub: str, name: str = "") -> dict[str, str]:
    """Authorization header."""
    return {"Authorization": f"Bearer {token(role, sub, name)}"}


def postgres_settings(pg: PostgresParams) -> Settings:
    """Messaging settings on the PostgreSQL database ``pg``."""
    return Settings(
        EVENT_STORE="postgres",
        POSTGRES_HOST=pg.host,
        POSTGRES_PORT=pg.port,
        POSTGRES_USER=pg.user,
        POSTGRES_PASSWORD=pg.password,
        POSTGRES_DB=pg.dbname,
    )


def service_env(kafka: KafkaSettings, store: Path, **extra: str) -> dict[str, str]:
    """Environment of a messaging process on the test broker and a SQLite store."""
    env = dict(os.environ)
    env |= {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_ENABLE_IDEMPOTENCE": "false",
        "KAFKA_TOPIC_PARTITIONS": str(kafka.topic_partitions),
        "EVENT_STORE": "sqlite",
        "EVENT_STORE_SQLITE_PATH": str(store),
        "AUTH_JWT_SECRET": SECRET,
        "RELAY_REPUBLISH_ON_START": "false",
        "ORDERS_CONSUMER_GROUP": f"messaging-test-{uuid.uuid4().hex[:8]}",
        # the suite posts hundreds of messages a second from a few tokens: no write limits (test_edge tests them)
        "RATE_LIMIT_WRITES_PER_SECOND": "0",
        "RATE_LIMIT_ANONYMOUS_PER_SECOND": "0",
    }
    return env | extra


@dataclass
class RunningService:
    """The messaging service under test."""

    url: str
    process: ManagedProcess
    store_path: Path

    def client(self) -> httpx.AsyncClient:
        """An HTTP client on the service."""
        return httpx.AsyncClient(base_url=self.url, timeout=30)


@contextmanager
def serving(name: str, var: Path, env: dict[str, str]) -> Iterator[RunningService]:
    """``python -m ordertalk_messaging serve`` as ``name`` on a free port with ``env`` (its store under ``var``)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = python_argv("-m", "ordertalk_messaging", "serve", "--host", "127.0.0.1", "--port", str(port))
    proc = ManagedProcess(name, argv, var / "messaging.log", env=env)
    proc.start(lambda: ready(url, timeout=0.5), timeout=60)
    try:
        yield RunningService(url, proc, var / "es.sqlite")
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def messaging_service(
    kafka_settings: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    """``python -m ordertalk_messaging serve`` on a free port (relay and orders consumer inside)."""
    var = tmp_path_factory.mktemp("messaging")
    with serving("messaging", var, service_env(kafka_settings, var / "es.sqlite")) as service:
        yield service


def new_order(customer_id: str = "customer-1", name: str = "Jane Doe") -> OrderRegisteredV1:
    """An order with a fresh id."""
    order_id = f"t-{uuid.uuid4().hex[:10]}"
    return OrderRegisteredV1(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        order_id=order_id,
        order_number=f"#{order_id[-5:]}",
        customer=Customer(id=customer_id, name=name, email="jane@example.com"),
    )


async def announce(kafka: KafkaSettings, *payloads: bytes, key: bytes = b"k") -> None:
    """Publish raw messages on the orders topic."""
    producer = AIOKafkaProducer(**kafka.producer_kwargs())
    await producer.start()
    try:
        for payload in payloads:
            await producer.send_and_wait(ORDERS, payload, key=key)
    finally:
        await producer.stop()


async def announce_orders(kafka: KafkaSettings, *orders: OrderRegisteredV1) -> None:
    """Publish OrderRegistered events."""
    await announce(kafka, *(dump(o) for o in orders))


async def wait_until(check: Callable[[], object], within: float = 30.0, every: float = 0.05) -> None:
    """Poll an async-free condition until it holds or the deadline passes."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)


async def read_topic(kafka: KafkaSettings, topic: str) -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
    """Every record currently on ``topic`` (all partitions, from the beginning): key, value, headers."""
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), group_id=None, enable_auto_commit=False, fetch_max_wait_ms=50)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]] = []
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=500)
                for record in batch.get(tp, []):
                    out.append((record.key, record.value or b"", list(record.headers)))
        return out
    finally:
        await consumer.stop()
