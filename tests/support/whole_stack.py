"""The whole system for a module of tests: stand-in servers and services on free ports, and events sent to it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from ordertalk_contracts import OrderRegisteredV1, ThreadEvent, dump
from ordertalk_devstack.processes import free_port
from ordertalk_devstack.stack import Stack, StackPorts, running_stack
from ordertalk_runtime.kafka import KafkaSettings

SERVERS_AND_SERVICES = ("kafka", "mongo", "smtp", "web", "messaging", "projections", "notifier")
CONFIGURED_OUTSIDE = ("KAFKA_BOOTSTRAP_SERVERS", "MONGO_URL", "SMTP_HOST")


@contextmanager
def whole_stack(var: Path) -> Iterator[Stack]:
    """The whole system on stand-in servers (none taken from the environment) and free ports, stopped on exit."""
    ports = StackPorts(**{name: free_port() for name in SERVERS_AND_SERVICES})
    with pytest.MonkeyPatch.context() as patch:
        for name in CONFIGURED_OUTSIDE:
            patch.delenv(name, raising=False)
        with running_stack(var, ports) as running:
            yield running


def produce(stack: Stack, topic: str, events: Sequence[OrderRegisteredV1 | ThreadEvent]) -> None:
    """Send ``events`` to ``topic`` on the stack's broker, each keyed by its order id, and wait for every ack."""

    async def send() -> None:
        settings = KafkaSettings(bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"], enable_idempotence=False)
        producer = AIOKafkaProducer(**settings.producer_kwargs())
        await producer.start()
        try:
            for event in events:
                await producer.send_and_wait(topic, dump(event), key=event.order_id.encode())
        finally:
            await producer.stop()

    asyncio.run(send())


def post_message(stack: Stack, order_id: str, body: str, headers: dict[str, str]) -> int | None:
    """Post ``body`` to the order's thread: the stored event's position, None if refused (the order not known yet)."""
    url = f"{stack.url('messaging')}/v1/orders/{order_id}/messages"
    response = httpx.post(url, json={"body": body}, headers=headers, timeout=10)
    return int(response.json()["position"]) if response.status_code == 201 else None
