"""Learns orders from OrderRegistered on the orders topic; commits offsets only once a thread is saved."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from ordertalk_contracts import ORDERS, ContractError, OrderRegisteredV1, parse
from ordertalk_messaging.application import NewOrder
from ordertalk_runtime.dead_letters import put_aside
from ordertalk_runtime.kafka import KafkaSettings

log = logging.getLogger(__name__)

RegisterOrder = Callable[[NewOrder, str | None], Awaitable[bool]]


def new_order_from(raw: bytes | None) -> tuple[NewOrder, str | None]:
    """The order announced by a raw message; ContractError if it is not a valid OrderRegistered."""
    if raw is None:
        raise ContractError("empty message")
    event = parse(raw)
    if not isinstance(event, OrderRegisteredV1):
        raise ContractError(f"{event.event_type} is not an OrderRegistered event")
    order = NewOrder(
        order_id=event.order_id,
        order_number=event.order_number,
        customer_id=event.customer.id,
        customer_name=event.customer.name,
        customer_email=str(event.customer.email),
    )
    return order, event.correlation_id or str(event.event_id)


class OrdersConsumer:
    """Consumer group on ORDERS; poison messages go to the dead-letter topic and consumption carries on."""

    def __init__(self, kafka: KafkaSettings, group_id: str, register: RegisterOrder, topic: str = ORDERS) -> None:
        self.kafka, self.group_id, self.register, self.topic = kafka, group_id, register, topic
        self.handled = 0
        self.dead_lettered = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, reconnecting after broker errors."""
        backoff = 0.2
        while not stop.is_set():
            try:
                await self._consume(stop)
            except Exception as exc:
                log.warning("orders consumer failed (%s); reconnecting in %.1fs", exc, backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, 5.0)

    async def _consume(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            self.topic,
            **self.kafka.client_kwargs(),
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=200,
        )
        producer = AIOKafkaProducer(**self.kafka.producer_kwargs())
        await consumer.start()
        try:
            await producer.start()
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=300, max_records=200)
                for tp, records in batches.items():
                    for record in records:
                        await self._handle(record, producer)
                        await consumer.commit({tp: record.offset + 1})
        finally:
            await producer.stop()
            await consumer.stop()

    async def _handle(self, record: ConsumerRecord[bytes, bytes], producer: AIOKafkaProducer) -> None:
        try:
            order, correlation_id = new_order_from(record.value)
        except ContractError as exc:
            await put_aside(producer, record, self.group_id, exc.reason)
            self.dead_lettered += 1
            return
        backoff = 0.1
        while True:
            try:
                await self.register(order, correlation_id)
                self.handled += 1
                return
            except Exception as exc:  # the store is down: retry, never skip
                log.warning("could not save order %s (%s); retrying", order.order_id, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
