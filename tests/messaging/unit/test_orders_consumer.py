"""The orders consumer's handler on the runtime, under FastStream's TestKafkaBroker, over a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.persistence import OperationalError
from tests.messaging.conftest import new_order
from tests.support.memory_broker import consume_in_memory

from ordertalk_contracts import ORDERS, dump
from ordertalk_messaging.application.services import NewOrder, ThreadService
from ordertalk_messaging.bootstrap import open_store, tables_for
from ordertalk_messaging.domain.thread import thread_id_for
from ordertalk_messaging.entrypoints.orders_consumer import orders_consumer
from ordertalk_messaging.settings import Settings
from ordertalk_runtime.kafka import KafkaSettings


class Registrar:
    """``ThreadService.register_order``, failing first as a store that is down, and for good on one order."""

    def __init__(self, service: ThreadService, outages: int = 0, broken: str | None = None) -> None:
        self.service, self.outages, self.broken = service, outages, broken
        self.answers: list[tuple[str, bool]] = []

    def __call__(self, order: NewOrder, correlation_id: str | None) -> bool:
        """Register, or fail."""
        if self.outages:
            self.outages -= 1
            raise OperationalError("couldn't get a connection after 10.00 sec")
        if order.order_id == self.broken:
            raise ValueError("this order breaks the store")
        answer = self.service.register_order(order, correlation_id)
        self.answers.append((order.order_id, answer))
        return answer


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ThreadService]:
    """A thread service on a SQLite store of its own."""
    settings = Settings(EVENT_STORE="sqlite", EVENT_STORE_SQLITE_PATH=tmp_path / "es.sqlite")
    store = open_store(settings)
    svc = ThreadService(store, tables_for(store, settings))
    yield svc
    svc.close()
    store.close()


async def consume(registrar: Registrar, *batches: list[bytes]) -> tuple[list[dict[str, str]], int]:
    """Publish each batch on the orders topic through the consumer; answer the dead letters' headers and how many
    events the runtime counts as handled."""
    consumer = orders_consumer(KafkaSettings(), "g-orders-test", registrar)
    letters = await consume_in_memory(consumer, ORDERS, batches, 30)
    return letters, consumer.handled


async def test_orders_start_threads_once_and_poison_goes_to_dead_letters(service: ThreadService) -> None:
    first, second = new_order(), new_order("customer-2", "Bob")
    registrar = Registrar(service)
    not_an_order = b'{"event_type": "ThreadStarted"}'
    letters, handled = await consume(registrar, [dump(first), b"not json", dump(second), not_an_order], [dump(first)])
    assert registrar.answers == [(first.order_id, True), (second.order_id, True), (first.order_id, False)]
    assert all(thread_id_for(o.order_id) in service.store.repository for o in (first, second))
    assert len(letters) == 2, letters
    assert handled == 3


async def test_a_store_outage_is_waited_out_and_a_broken_order_alone_is_dead_lettered(service: ThreadService) -> None:
    orders = [new_order() for _ in range(4)]
    registrar = Registrar(service, outages=6, broken=orders[2].order_id)
    letters, handled = await consume(registrar, [dump(o) for o in orders])
    registered = {order_id for order_id, answer in registrar.answers if answer}
    assert registered == {o.order_id for i, o in enumerate(orders) if i != 2}
    assert [h["dlq.reason"].split(":")[0] for h in letters] == ["handler failed"]
    assert orders[2].order_id not in {order_id for order_id, _ in registrar.answers}
    assert handled == 3
