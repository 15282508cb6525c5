"""Integration harness: publish contract events to the real broker, run the service as a subprocess, poll."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaProducer

from ordertalk_contracts import ORDERS, THREAD_EVENTS, IntegrationEvent, OrderRegisteredV1, dump
from ordertalk_contracts.topics import ALL_TOPICS
from ordertalk_devstack.processes import ManagedProcess, free_port, python_argv
from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec
from ordertalk_runtime.kafka import KafkaSettings, ensure_topics

SECRET = "projection-tests-secret-0123456789"
CODEC = TokenCodec(AuthSettings(jwt_secret=SECRET))
T = TypeVar("T")


def token(role: str = "admin", subject: str = "staff-1", name: str = "Admin Admin") -> str:
    """A valid bearer token."""
    return CODEC.mint(Principal(role=role, subject=subject, display_name=name))  # type: ignore[arg-type]


def auth(role: str = "admin", subject: str = "staff-1") -> dict[str, str]:
    """Authorization header of a caller."""
    return {"Authorization": f"Bearer {token(role, subject)}"}


def topic_of(event: IntegrationEvent) -> str:
    """Where an event is published."""
    return ORDERS if isinstance(event, OrderRegisteredV1) else THREAD_EVENTS


def publish(settings: KafkaSettings, events: Iterable[IntegrationEvent | tuple[str, bytes]]) -> None:
    """Publish events (or raw (topic, bytes) records) keyed by order id, in the order given."""

    async def go() -> None:
        await ensure_topics(settings, list(ALL_TOPICS))
        producer = AIOKafkaProducer(**settings.producer_kwargs())
        await producer.start()
        try:
            for item in events:
                if isinstance(item, tuple):
                    await producer.send_and_wait(item[0], item[1], key=b"poison")
                else:
                    key = str(getattr(item, "order_id", "")).encode()
                    await producer.send_and_wait(topic_of(item), dump(item), key=key)
        finally:
            await producer.stop()

    asyncio.run(go())


def service_env(kafka: KafkaSettings, mongo_url: str, db: str, group: str, **extra: str) -> dict[str, str]:
    """Environment of a projections process for the tests' servers."""
    env = dict(os.environ)
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "KAFKA_ENABLE_IDEMPOTENCE": str(kafka.enable_idempotence).lower(),
            "KAFKA_TOPIC_PARTITIONS": str(kafka.topic_partitions),
            "MONGO_URL": mongo_url,
            "MONGO_DB": db,
            "AUTH_JWT_SECRET": SECRET,
            "PROJECTIONS_GROUP": group,
            "CORS_ORIGINS": "http://shop.test",
            **extra,
        }
    )
    env.pop("MESSAGING_URL", None)
    return env


@dataclass
class RunningService:
    """A projections process the test started."""

    url: str
    db: str
    process: ManagedProcess

    def get(self, path: str, role: str = "admin", subject: str = "staff-1", **params: Any) -> httpx.Response:
        """GET with a caller's token."""
        return httpx.get(f"{self.url}{path}", params=params, headers=auth(role, subject), timeout=10)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def serve(kafka: KafkaSettings, mongo_url: str, logs: Path, command: str = "serve") -> Iterator[RunningService]:
    """Run ``python -m ordertalk_projections serve`` on a free port with a fresh database and group."""
    suffix = uuid.uuid4().hex[:8]
    db, group = f"proj_{suffix}", f"projections-{suffix}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = python_argv("-m", "ordertalk_projections", "serve", "--host", "127.0.0.1", "--port", str(port))
    proc = ManagedProcess(f"projections-{suffix}", argv, logs / f"projections-{suffix}.log")
    proc.env = service_env(kafka, mongo_url, db, group)
    proc.start(lambda: _ready(url), timeout=60)
    try:
        yield RunningService(url, db, proc)
    finally:
        proc.stop()
