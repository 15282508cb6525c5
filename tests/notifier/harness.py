"""Running the notifier as a real process for the tests and the benchmark, and feeding it events."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from ordertalk_contracts import ThreadEvent, dump
from ordertalk_contracts.topics import THREAD_EVENTS
from ordertalk_devstack.processes import ManagedProcess, free_port, python_argv
from ordertalk_runtime.auth import AuthSettings, Principal, TokenCodec
from ordertalk_runtime.kafka import KafkaSettings

JWT_SECRET = "notifier-test-secret-0123456789abcdef"
CODEC = TokenCodec(AuthSettings(jwt_secret=JWT_SECRET))
ADMIN_TOKEN = CODEC.mint(Principal("admin", "admin-1", "Admin Admin"))


def customer_token(customer_id: str) -> str:
    """A token of a customer."""
    return CODEC.mint(Principal("customer", customer_id, "Jane Doe", "jane@example.com"))


@dataclass
class NotifierProcess:
    """``python -m ordertalk_notifier serve`` on a free port, configured for the given servers."""

    kafka: KafkaSettings
    mongo_url: str
    smtp_port: int
    log_dir: Path
    mongo_db: str = field(default_factory=lambda: f"notifier_test_{uuid.uuid4().hex[:8]}")
    group: str = field(default_factory=lambda: f"notifier-test-{uuid.uuid4().hex[:8]}")
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """Base URL of the running process."""
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment the process runs with."""
        import os

        return (
            dict(os.environ)
            | {
                "KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
                "KAFKA_ENABLE_IDEMPOTENCE": str(self.kafka.enable_idempotence).lower(),
                "KAFKA_TOPIC_PARTITIONS": str(self.kafka.topic_partitions),
                "MONGO_URL": self.mongo_url,
                "MONGO_DB": self.mongo_db,
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(self.smtp_port),
                "SMTP_TLS": "none",
                "MAIL_FROM": "notify@shop.example",
                "STORE_NOTIFICATION_EMAIL": "store@example.com",
                "ADMIN_BASE_URL": "http://web.example/admin",
                "STOREFRONT_BASE_URL": "http://web.example/store",
                "AUTH_JWT_SECRET": JWT_SECRET,
                "NOTIFIER_CONSUMER_GROUP": self.group,
                "NOTIFIER_RETRY_INITIAL_SECONDS": "0.2",
                "NOTIFIER_RETRY_MAX_SECONDS": "1",
                "NOTIFIER_POLL_SECONDS": "0.2",
                "NOTIFIER_LEASE_SECONDS": "3",
            }
            | self.extra_env
        )

    def start(self, until: Callable[[], bool] | None = None) -> NotifierProcess:
        """Start and wait until /readyz says the consumer runs (or until ``until()`` holds, checked every 50 ms)."""
        self.port = free_port()
        argv = python_argv("-m", "ordertalk_notifier", "serve", "--host", "127.0.0.1", "--port", str(self.port))
        self.process = ManagedProcess("notifier", argv, self.log_dir / f"notifier-{self.port}.log", env=self.env())
        self.process.start(until or self._ready, timeout=60)
        return self

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """SIGTERM (then SIGKILL)."""
        if self.process is not None:
            self.process.stop()

    def kill(self) -> None:
        """SIGKILL at once."""
        if self.process is not None:
            self.process.kill()


async def produce(kafka: KafkaSettings, events: Sequence[ThreadEvent], raw: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """Publish contract events (keyed by order id) and raw (key, value) messages to the thread-events topic."""
    producer = AIOKafkaProducer(**kafka.producer_kwargs(), linger_ms=0)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(THREAD_EVENTS, dump(event), key=event.order_id.encode())
        for key, value in raw:
            await producer.send_and_wait(THREAD_EVENTS, value, key=key)
    finally:
        await producer.stop()


def mails_by_order(messages: list[EmailMessage], order_ids: Sequence[str]) -> dict[str, list[EmailMessage]]:
    """The e-mails grouped by the order their thread link names (only the orders asked for)."""
    wanted = set(order_ids)
    found: dict[str, list[EmailMessage]] = {o: [] for o in order_ids}
    for msg in messages:
        body = msg.get_body(("plain",))
        text = str(body.get_content()) if body is not None else ""
        for part in text.split("/orders/")[1:]:
            order_id = re.split(r"[/#?\s]", part, maxsplit=1)[0]  # the link's path segment, without its fragment
            if order_id in wanted:
                found[order_id].append(msg)
                break
    return found


def mails_about(messages: list[EmailMessage], order_id: str) -> list[EmailMessage]:
    """The e-mails whose thread link names ``order_id``."""
    found = []
    for msg in messages:
        body = msg.get_body(("plain",))
        if body is not None and f"/orders/{order_id}" in str(body.get_content()):
            found.append(msg)
    return found


def outbox_rows(mongo_url: str, db: str, **query: object) -> list[dict[str, object]]:
    """Outbox documents of the notifier's database matching ``query``."""
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(mongo_url)
    try:
        return list(client[db]["notifier_outbox"].find(query, {"message": 0}))
    finally:
        client.close()


class BellStream:
    """A connected SSE client: yields each ``bell`` event's data."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next(self, within: float = 5.0) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            event = None
            async for line in self.lines:
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "bell":
                    data: dict[str, Any] = json.loads(line[5:])
                    return data
            raise AssertionError("stream ended")

        return await asyncio.wait_for(read(), within)

    async def until(self, predicate: Callable[[dict[str, Any]], object], within: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            alert = await self.next(max(0.01, deadline - time.monotonic()))
            if predicate(alert):
                return alert


@asynccontextmanager
async def bell_stream(url: str, token: str, via_query: bool = False) -> AsyncIterator[BellStream]:
    params = {"access_token": token} if via_query else {}
    headers = {} if via_query else {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client,
        client.stream("GET", f"{url}/v1/stream", params=params, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield BellStream(response)
