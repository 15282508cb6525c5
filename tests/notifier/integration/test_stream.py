"""Live bell alerts: SSE stream of the notifier process, fed by events on the real broker."""

from __future__ import annotations

import time

import httpx
from tests.notifier.events import ADMIN, ThreadBuilder
from tests.notifier.harness import ADMIN_TOKEN, NotifierProcess, bell_stream, customer_token, produce

from ordertalk_runtime.kafka import KafkaSettings

NOTHING = {"threads_with_news": 0, "threads_with_unread_messages": 0, "unseen_disputes": 0}
ONE_THREAD_OF_MESSAGES = {"threads_with_news": 1, "threads_with_unread_messages": 1, "unseen_disputes": 0}


async def test_admin_alert_arrives_within_a_second_with_counts_and_description(
    notifier: NotifierProcess, kafka_settings: KafkaSettings
) -> None:
    async with bell_stream(notifier.url, ADMIN_TOKEN, via_query=True) as stream:
        first = await stream.next(2.0)
        assert first["description"] is None and set(first["counts"]) == {
            "threads_with_news",
            "threads_with_unread_messages",
            "unseen_disputes",
        }
        warm = ThreadBuilder()  # the consumer group's first join can take seconds: not what is measured here
        await produce(kafka_settings, [warm.started(), warm.message(warm.customer)])
        await stream.until(lambda a: a["order_id"] == warm.order_id and a["description"], within=30)

        t = ThreadBuilder(order_number="#00011", customer_name="Jane Doe")
        await produce(kafka_settings, [t.started()])
        await stream.until(lambda a: a["order_id"] == t.order_id)
        before = await stream_counts(notifier)
        sent = time.monotonic()
        await produce(kafka_settings, [t.message(t.customer)])
        alert = await stream.until(lambda a: a["order_id"] == t.order_id and a["description"], within=5)
        elapsed = time.monotonic() - sent
        assert alert["description"] == "New message for order #00011 from Jane Doe"
        assert alert["event_type"] == "MessagePosted" and alert["position"] >= 1
        assert alert["counts"]["threads_with_news"] >= before["threads_with_news"] + 1
        assert elapsed < 1.0, f"alert took {elapsed:.3f}s"

        await produce(kafka_settings, [t.dispute_opened(t.customer, "Broken")])
        alert = await stream.until(lambda a: a["order_id"] == t.order_id and a["event_type"] == "DisputeOpened")
        assert alert["description"] == "Dispute opened on order #00011 by Jane Doe"
        assert alert["counts"]["unseen_disputes"] >= 1


async def test_customer_gets_own_counts_and_a_reconnect_gets_current_counts_at_once(
    notifier: NotifierProcess, kafka_settings: KafkaSettings
) -> None:
    t = ThreadBuilder(order_number="#00077")
    token = customer_token(t.customer_id)
    async with bell_stream(notifier.url, token) as stream:
        assert (await stream.next(2.0))["counts"] == NOTHING
        shipped = [t.started(), t.message(ADMIN, "Shipped"), t.message(ADMIN, "Tracking: 1")]
        await produce(kafka_settings, shipped)
        alert = await stream.until(lambda a: a["position"] == shipped[-1].position)
        assert alert["description"] == "New message for order #00077 from Admin Admin"
        assert alert["counts"] == ONE_THREAD_OF_MESSAGES  # two messages, one thread
    async with bell_stream(notifier.url, token, via_query=True) as again:
        assert (await again.next(2.0))["counts"] == ONE_THREAD_OF_MESSAGES
        await produce(kafka_settings, [t.read(t.customer), own := t.dispute_opened(t.customer, "Late")])
        read = await again.until(lambda a: a["position"] == own.position)
        assert read["description"] is None and read["counts"] == NOTHING  # the customer's own dispute
        await produce(kafka_settings, [t.dispute_closed(ADMIN), again_opened := t.dispute_opened(ADMIN)])
        alert = await again.until(lambda a: a["position"] == again_opened.position)
        assert alert["description"] == "Dispute opened on order #00077 by Admin Admin"
        assert alert["counts"] == {"threads_with_news": 1, "threads_with_unread_messages": 0, "unseen_disputes": 1}
        await produce(kafka_settings, [seen := t.read(t.customer)])  # no message to read: the dispute is seen
        assert (await again.until(lambda a: a["position"] == seen.position))["counts"] == NOTHING
    async with httpx.AsyncClient() as client:
        bell = await client.get(f"{notifier.url}/v1/bell", headers={"Authorization": f"Bearer {token}"})
    assert bell.json() == NOTHING


async def test_stream_needs_a_valid_token(notifier: NotifierProcess) -> None:
    async with httpx.AsyncClient() as client:
        missing = await client.get(f"{notifier.url}/v1/stream")
        bad = await client.get(f"{notifier.url}/v1/stream", params={"access_token": "x.y.z"})
    assert missing.status_code == 401 and bad.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"


async def stream_counts(notifier: NotifierProcess) -> dict[str, int]:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{notifier.url}/v1/bell", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    counts: dict[str, int] = answer.json()
    return counts
