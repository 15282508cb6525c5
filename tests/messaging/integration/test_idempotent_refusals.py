"""A key keeps the refusal of a command that was decided on its thread: its retry is answered the same, later too."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from tests.messaging.conftest import RunningService, announce_orders, bearer, new_order

from ordertalk_contracts import OrderRegisteredV1
from ordertalk_runtime.kafka import KafkaSettings

ADMIN = bearer("admin", "admin-1", "Admin Admin")
JANE = bearer("customer", "customer-1", "Jane Doe")


@pytest.fixture
async def order(messaging_service: RunningService, kafka_settings: KafkaSettings) -> OrderRegisteredV1:
    """A fresh order of Jane's, known to the service."""
    known = new_order()
    await announce_orders(kafka_settings, known)
    async with messaging_service.client() as client:
        for _ in range(600):  # it reaches the service through Kafka
            if (await client.get(f"/v1/orders/{known.order_id}/history", headers=ADMIN)).status_code == 200:
                return known
            await asyncio.sleep(0.05)
    raise AssertionError("the order never reached the messaging service")


async def test_a_keyed_dispute_open_that_met_an_open_dispute_stays_409_after_the_dispute_closed(
    messaging_service: RunningService, order: OrderRegisteredV1
) -> None:
    path = f"/v1/orders/{order.order_id}/dispute"
    keyed = JANE | {"Idempotency-Key": str(uuid.uuid4())}
    async with messaging_service.client() as client:
        assert (await client.post(path, json={"reason": "Late"}, headers=JANE)).status_code == 201
        first = await client.post(path, json={"reason": "Still late"}, headers=keyed)
        assert first.status_code == 409
        assert (await client.post(f"{path}/close", json={}, headers=JANE)).status_code == 200

        retry = await client.post(path, json={"reason": "Still late"}, headers=keyed)
        assert retry.status_code == 409
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.headers["content-type"] == "application/problem+json"
        assert retry.json() == first.json()

        other_key = JANE | {"Idempotency-Key": str(uuid.uuid4())}
        assert (await client.post(path, json={"reason": "Still late"}, headers=other_key)).status_code == 201


async def test_a_keyed_close_that_found_no_dispute_stays_409_after_one_was_opened(
    messaging_service: RunningService, order: OrderRegisteredV1
) -> None:
    path = f"/v1/orders/{order.order_id}/dispute"
    keyed = ADMIN | {"Idempotency-Key": str(uuid.uuid4())}
    async with messaging_service.client() as client:
        first = await client.post(f"{path}/close", json={}, headers=keyed)
        assert first.status_code == 409 and "idempotent-replayed" not in first.headers
        assert (await client.post(path, json={"reason": "Broken"}, headers=JANE)).status_code == 201
        retry = await client.post(f"{path}/close", json={}, headers=keyed)
        assert retry.status_code == 409 and retry.headers["idempotent-replayed"] == "true"
        assert retry.json() == first.json()


async def test_a_keyed_write_to_an_unknown_order_is_not_kept(messaging_service: RunningService) -> None:
    path = f"/v1/orders/unknown-{uuid.uuid4().hex[:8]}/messages"
    keyed = ADMIN | {"Idempotency-Key": str(uuid.uuid4())}
    async with messaging_service.client() as client:
        for _ in range(2):  # the order may be registered later: each retry executes
            answer = await client.post(path, json={"body": "hello"}, headers=keyed)
            assert answer.status_code == 404 and "idempotent-replayed" not in answer.headers
