"""The thread view pages its messages: the latest first, older pages on demand, over a real broker and MongoDB."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from tests.projections.harness import RunningService, publish
from tests.projections.scripts import ADMIN, Positions, ThreadScript
from tests.support.folding import fold
from tests.support.polling import wait_for

from ordertalk_contracts import IntegrationEvent
from ordertalk_runtime.kafka import KafkaSettings

MESSAGES = 130


@dataclass
class LongThread:
    """130 messages (the admin writes every second one up to 100, reads there, then only the customer writes), a
    dispute opened after message 10 and closed after message 100."""

    script: ThreadScript
    other: ThreadScript  # another customer's thread


@pytest.fixture(scope="module")
def long_thread(service: RunningService, kafka_settings: KafkaSettings) -> LongThread:
    positions = Positions(start=uuid.uuid4().int % 10**6 * 1000)
    script, other = ThreadScript.new(positions), ThreadScript.new(positions)
    events: list[IntegrationEvent] = [script.registered(), other.registered(), script.start(), other.start()]
    events.append(other.post("Someone else's question"))
    for n in range(1, MESSAGES + 1):
        events.append(script.post(f"message {n}", ADMIN if n % 2 == 0 and n <= 100 else None))
        if n == 10:
            events.append(script.open_dispute("The parcel never came"))
        elif n == 100:
            events += [script.close_dispute(), script.read("admin")]
    publish(kafka_settings, events)
    last = script.events[-1].position
    wait_for(
        lambda: int(service.get(f"/v1/threads/{script.order_id}").headers.get("X-Projection-Position", "0")) >= last,
        what="the long thread applied",
    )
    return LongThread(script, other)


def page(service: RunningService, order_id: str, **params: Any) -> dict[str, Any]:
    """One page of the thread view as the admin."""
    answer = service.get(f"/v1/threads/{order_id}", **params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def seqs(body: dict[str, Any]) -> list[int]:
    return [m["seq"] for m in body["messages"]]


def test_the_latest_page_comes_first_then_older_pages_down_to_the_first_message(
    service: RunningService, long_thread: LongThread
) -> None:
    oid = long_thread.script.order_id
    first = page(service, oid)
    assert seqs(first) == list(range(81, 131))  # the default page: the latest 50, oldest first
    assert (first["older"], first["next_before_seq"]) == (True, 81)
    second = page(service, oid, before_seq=first["next_before_seq"])
    assert seqs(second) == list(range(31, 81))
    assert (second["older"], second["next_before_seq"]) == (True, 31)
    third = page(service, oid, before_seq=second["next_before_seq"])
    assert seqs(third) == list(range(1, 31))
    assert (third["older"], third["next_before_seq"]) == (False, None)
    assert third["messages"][0]["body"] == "message 1"
    assert third["messages"][0]["author"]["role"] == "customer"

    # What the thread's state says is the same on every page: the whole dispute history, counts, read positions.
    for body in (first, second, third):
        assert body["message_count"] == MESSAGES
        assert body["read_positions"] == {"customer": MESSAGES, "admin": 100}
        assert body["read_positions"] == fold(long_thread.script.events).read_positions
        assert body["unread"] == 30  # the customer's messages 101 ... 130
        assert body["dispute"] is None
        [dispute] = body["disputes"]
        assert dispute["reason"] == "The parcel never came" and dispute["closed_at"] is not None
        assert body["last_message"]["seq"] == MESSAGES
        assert body["position"] == long_thread.script.events[-1].position
        assert body["last_dispute"] == dispute


def test_a_page_size_and_a_seq_pick_any_window(service: RunningService, long_thread: LongThread) -> None:
    oid = long_thread.script.order_id
    everything = page(service, oid, limit=200)
    assert seqs(everything) == list(range(1, MESSAGES + 1))
    assert (everything["older"], everything["next_before_seq"]) == (False, None)
    exact = page(service, oid, limit=MESSAGES)
    assert (len(exact["messages"]), exact["older"]) == (MESSAGES, False)  # no older message: nothing to fetch
    window = page(service, oid, limit=3, before_seq=11)
    assert seqs(window) == [8, 9, 10] and window["next_before_seq"] == 8 and window["older"] is True
    assert seqs(page(service, oid, limit=1)) == [MESSAGES]
    beyond = page(service, oid, before_seq=10_000, limit=2)
    assert seqs(beyond) == [129, 130]
    nothing = page(service, oid, before_seq=1)
    assert (nothing["messages"], nothing["older"], nothing["next_before_seq"]) == ([], False, None)
    assert nothing["message_count"] == MESSAGES and len(nothing["disputes"]) == 1


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 201}, {"limit": "many"}, {"before_seq": 0}, {"before_seq": "x"}]
)
def test_a_page_out_of_bounds_is_a_422_problem(
    service: RunningService, long_thread: LongThread, params: dict[str, Any]
) -> None:
    answer = service.get(f"/v1/threads/{long_thread.script.order_id}", **params)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_another_customers_thread_is_404_on_every_page(service: RunningService, long_thread: LongThread) -> None:
    other = long_thread.other.customer.id
    oid = long_thread.script.order_id
    assert service.get(f"/v1/threads/{oid}", role="customer", subject=other).status_code == 404
    assert service.get(f"/v1/threads/{oid}", role="customer", subject=other, before_seq=50).status_code == 404
    own = service.get(f"/v1/threads/{oid}", role="customer", subject=long_thread.script.customer.id, limit=5)
    assert own.status_code == 200 and seqs(own.json()) == [126, 127, 128, 129, 130]
    assert own.json()["unread"] == 0 and own.json()["unread_for_admin"] == 30


def test_read_your_writes_shows_the_new_message_on_the_latest_page(
    service: RunningService, kafka_settings: KafkaSettings, long_thread: LongThread
) -> None:
    script = long_thread.other
    posts = [script.post(f"follow-up {n}") for n in range(1, 61)]
    publish(kafka_settings, posts)
    last = posts[-1]
    body = page(service, script.order_id, after=last.position, after_order=script.order_id, limit=5)
    assert body["messages"][-1]["body"] == "follow-up 60"
    assert seqs(body) == [57, 58, 59, 60, 61]
    assert body["older"] is True and body["message_count"] == 61
