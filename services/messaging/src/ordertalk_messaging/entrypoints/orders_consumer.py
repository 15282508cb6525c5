"""Learns orders from OrderRegistered on the orders topic: a handler on the shared consumer runtime.

Each order's thread is saved before the batch's offsets are committed; registering is idempotent (a known order
is left as it is), so a redelivered batch changes nothing. Poison messages go to the dead-letter topic.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

import anyio.to_thread
import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from ordertalk_contracts import ORDERS, ContractError, OrderRegisteredV1, parse
from ordertalk_messaging.application.services import NewOrder
from ordertalk_runtime.consumer import Consumer, ConsumerConfig, Record
from ordertalk_runtime.kafka import KafkaSettings
from ordertalk_runtime.retry import Transient

CONSUMER = "messaging-orders"
RegisterOrder = Callable[[NewOrder, str | None], bool]
# What saving a thread raises while the event store is down or busy (eventsourcing wraps the drivers' errors;
# the drivers' own for safety): retried without end by the runtime, never skipped.
TRANSIENT: Transient = (
    OperationalError,
    InterfaceError,
    sqlite3.OperationalError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    OSError,
)


def order_registered(raw: bytes | None) -> OrderRegisteredV1:
    """The OrderRegistered event of a raw message; ContractError if it is anything else."""
    if raw is None:
        raise ContractError("empty message")
    event = parse(raw)
    if not isinstance(event, OrderRegisteredV1):
        raise ContractError(f"{event.event_type} is not an OrderRegistered event")
    return event


def new_order_of(event: OrderRegisteredV1) -> tuple[NewOrder, str | None]:
    """The order an OrderRegistered event announces, and the correlation id its thread starts with."""
    order = NewOrder(
        order_id=event.order_id,
        order_number=event.order_number,
        customer_id=event.customer.id,
        customer_name=event.customer.name,
        customer_email=str(event.customer.email),
    )
    return order, event.correlation_id or str(event.event_id)


def new_order_from(raw: bytes | None) -> tuple[NewOrder, str | None]:
    """The order announced by a raw message; ContractError if it is not a valid OrderRegistered."""
    return new_order_of(order_registered(raw))


class OrderRegistrations:
    """The orders consumer's handler: each batch's orders registered in order, durable when ``handle`` returns."""

    def __init__(self, register: RegisterOrder) -> None:
        self.register = register
        self.registered = 0

    def decode(self, record: Record) -> OrderRegisteredV1:
        """The OrderRegistered event a record carries (ContractError for poison: the runtime dead-letters it)."""
        return order_registered(record.value)

    async def handle(self, events: Sequence[OrderRegisteredV1]) -> int:
        """Register the batch's orders in order (in a worker thread: the store is synchronous); answer how many
        were new. Nothing is left to flush (the answer is staged all the same, so the runtime counts the batch).

        A store error propagates: transient ones are retried by the runtime (the orders registered already are
        known then, and left alone), others split the batch down to the one order, which is dead-lettered.
        """
        orders = [new_order_of(event) for event in events]
        new = await anyio.to_thread.run_sync(self._register_all, orders)
        self.registered += new
        return new

    def _register_all(self, orders: list[tuple[NewOrder, str | None]]) -> int:
        return sum(self.register(order, correlation_id) for order, correlation_id in orders)

    async def flush(self, staged: Sequence[int]) -> None:
        """Nothing: every order is saved by ``handle``."""

    def reset(self) -> None:
        """Nothing cached."""


def orders_consumer(kafka: KafkaSettings, group_id: str, register: RegisterOrder) -> Consumer[OrderRegisteredV1, int]:
    """The consumer group on ORDERS that starts a thread for each registered order."""
    config = ConsumerConfig(name=CONSUMER, group_id=group_id, topics=(ORDERS,), max_records=200, fetch_max_wait_ms=50)
    return Consumer(config, kafka, OrderRegistrations(register), TRANSIENT)
