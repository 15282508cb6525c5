"""The thread list over a real broker and MongoDB-wire server: conversations only, each row saying what is new."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from tests.projections.harness import RunningService, publish
from tests.projections.scripts import ADMIN, Positions, ThreadScript
from tests.support.polling import wait_for

from ordertalk_contracts import IntegrationEvent
from ordertalk_runtime.kafka import KafkaSettings


@dataclass
class Scene:
    """One customer's orders, each thread in another state."""

    word: str
    silent: ThreadScript  # started (every registered order has a thread) but nobody wrote
    dispute_only: ThreadScript  # the customer opened a dispute without writing a message
    closed_only: ThreadScript  # the admin opened and closed a dispute, no message
    marked_unread: ThreadScript  # customer asked, admin answered, then marked it unread
    admin_dispute: ThreadScript  # the admin opened a dispute after the customer's message was read


@pytest.fixture(scope="module")
def scene(service: RunningService, kafka_settings: KafkaSettings) -> Scene:
    positions = Positions(start=uuid.uuid4().int % 10**6 * 1000)
    word = f"okapi{uuid.uuid4().hex[:6]}"
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    silent, dispute_only, closed_only, marked_unread, admin_dispute = (
        ThreadScript.new(positions, customer) for _ in range(5)
    )
    events: list[IntegrationEvent] = []
    for script in (silent, dispute_only, closed_only, marked_unread, admin_dispute):
        events += [script.registered(), script.start()]
    events += [dispute_only.open_dispute(f"The parcel never arrived {word}")]
    events += [closed_only.open_dispute("Wrong size", ADMIN), closed_only.close_dispute()]
    events += [marked_unread.post(f"Can I pay by invoice {word}?"), marked_unread.read()]
    events += [marked_unread.post("Yes, you can; we will send it with the parcel.", ADMIN)]
    events += [marked_unread.mark_unread()]
    events += [admin_dispute.post("Hello"), admin_dispute.read(), admin_dispute.open_dispute("Chargeback filed", ADMIN)]
    publish(kafka_settings, events)
    last = max(e.position for e in events if hasattr(e, "position"))
    wait_for(lambda: int(service.get("/v1/bell").headers.get("X-Projection-Position", "0")) >= last, what="applied")
    return Scene(word, silent, dispute_only, closed_only, marked_unread, admin_dispute)


def rows(service: RunningService, role: str = "admin", subject: str = "staff-1", **params: Any) -> dict[str, Any]:
    answer = service.get("/v1/threads", role=role, subject=subject, per_page=200, **params)
    assert answer.status_code == 200, answer.text
    return {row["order_id"]: row for row in answer.json()["items"]}


def test_the_list_holds_conversations_only(service: RunningService, scene: Scene) -> None:
    listed = rows(service)
    assert scene.silent.order_id not in listed
    for script in (scene.dispute_only, scene.closed_only, scene.marked_unread, scene.admin_dispute):
        assert script.order_id in listed
    mine = rows(service, role="customer", subject=scene.silent.customer.id)
    assert set(mine) == {
        s.order_id for s in (scene.dispute_only, scene.closed_only, scene.marked_unread, scene.admin_dispute)
    }
    total = service.get("/v1/threads", role="customer", subject=scene.silent.customer.id).json()["total"]
    assert total == 4
    # The thread itself is still there: the order page offers to start the conversation (A9).
    assert service.get(f"/v1/threads/{scene.silent.order_id}").status_code == 200


def test_a_thread_opened_by_a_dispute_alone_says_so(service: RunningService, scene: Scene) -> None:
    row = rows(service)[scene.dispute_only.order_id]
    assert row["last_message"] is None
    assert row["news"]["message"] is None and row["news"]["unread_messages"] == 0
    assert row["news"]["dispute"]["reason"] == f"The parcel never arrived {scene.word}"
    assert row["news"]["dispute"]["opened_by"]["role"] == "customer"
    assert row["last_dispute"]["reason"] == f"The parcel never arrived {scene.word}"
    # The customer opened it: for the customer it is not news.
    own = rows(service, role="customer", subject=scene.dispute_only.customer.id)[scene.dispute_only.order_id]
    assert own["news"] == {"unread_messages": 0, "message": None, "dispute": None}


def test_a_closed_dispute_keeps_the_thread_listed_without_news(service: RunningService, scene: Scene) -> None:
    row = rows(service)[scene.closed_only.order_id]
    assert row["dispute"] is None
    assert row["last_dispute"]["reason"] == "Wrong size" and row["last_dispute"]["closed_at"] is not None
    assert row["news"] == {"unread_messages": 0, "message": None, "dispute": None}


def test_after_mark_unread_the_news_is_the_customers_message_not_the_admins(
    service: RunningService, scene: Scene
) -> None:
    row = rows(service)[scene.marked_unread.order_id]
    assert row["unread"] == 1
    assert row["last_message"]["author"]["role"] == "admin"  # the latest message is the admin's own
    news = row["news"]["message"]
    assert news["author"]["role"] == "customer" and news["seq"] == 1
    assert news["excerpt"] == f"Can I pay by invoice {scene.word}?"
    # The customer has read nothing of the admin's answer: it is their news.
    own = rows(service, role="customer", subject=scene.marked_unread.customer.id)[scene.marked_unread.order_id]
    assert own["news"]["unread_messages"] == 1
    assert own["news"]["message"]["excerpt"].startswith("Yes, you can")


def test_a_dispute_opened_by_the_store_is_news_for_the_customer(service: RunningService, scene: Scene) -> None:
    admin_row = rows(service)[scene.admin_dispute.order_id]
    assert admin_row["news"] == {"unread_messages": 0, "message": None, "dispute": None}
    customer = scene.admin_dispute.customer.id
    own = rows(service, role="customer", subject=customer)[scene.admin_dispute.order_id]
    assert own["news"]["dispute"]["reason"] == "Chargeback filed"
    assert own["news"]["message"] is None


def test_keyword_search_finds_dispute_reasons(service: RunningService, scene: Scene) -> None:
    found = rows(service, q="never arrived")
    assert scene.dispute_only.order_id in found
    assert set(rows(service, q=scene.word)) == {scene.dispute_only.order_id, scene.marked_unread.order_id}
    assert set(rows(service, q="chargeback")) >= {scene.admin_dispute.order_id}
    assert set(rows(service, q=f"{scene.word} arrived")) == {scene.dispute_only.order_id}
    customer = scene.closed_only.customer.id
    assert set(rows(service, role="customer", subject=customer, q="wrong size")) == {scene.closed_only.order_id}
