"""A handful of demo orders announced on the orders topic, as the shop's order service would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer

from ordertalk_contracts import ORDERS, Customer, OrderRegisteredV1, dump
from ordertalk_runtime.kafka import KafkaSettings

DEMO_CUSTOMERS = (
    Customer(id="customer-1", name="Jane Doe", email="jane@example.com"),
    Customer(id="customer-2", name="John Smith", email="john@example.com"),
    Customer(id="customer-3", name="Ada Lovelace", email="ada@example.com"),
)
DEMO_NAMESPACE = uuid.UUID("9c1e5a3b-7d2f-5b84-a6e0-3f8d2c7b1a95")


def demo_orders(count: int = 6, first_number: int = 11) -> list[OrderRegisteredV1]:
    """``count`` orders numbered #00011, #00012, … spread over the demo customers (stable event ids)."""
    now = datetime.now(UTC)
    orders = []
    for i in range(count):
        number = first_number + i
        customer = DEMO_CUSTOMERS[i % 2] if i < 4 else DEMO_CUSTOMERS[i % len(DEMO_CUSTOMERS)]
        orders.append(
            OrderRegisteredV1(
                event_id=uuid.uuid5(DEMO_NAMESPACE, str(number)),
                occurred_at=now,
                order_id=str(number),
                order_number=f"#{number:05d}",
                customer=customer,
                placed_at=now - timedelta(days=count - i),
            )
        )
    return orders


async def publish_orders(settings: KafkaSettings, orders: list[OrderRegisteredV1]) -> None:
    """Announce the orders on the orders topic (keyed by order id)."""
    producer = AIOKafkaProducer(**settings.producer_kwargs())
    await producer.start()
    try:
        for order in orders:
            await producer.send_and_wait(ORDERS, dump(order), key=order.order_id.encode())
    finally:
        await producer.stop()
