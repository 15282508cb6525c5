"""The projection API over a real broker and MongoDB-wire server: filters, auth, ownership, redelivery."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest
from tests.projections.harness import RunningService, publish
from tests.projections.scripts import ADMIN, Positions, ThreadScript
from tests.support.polling import wait_for

from ordertalk_contracts import IntegrationEvent
from ordertalk_runtime.kafka import KafkaSettings


@dataclass
class World:
    """The orders and threads published once for this module."""

    word: str
    a: ThreadScript
    b: ThreadScript
    c: ThreadScript
    d: ThreadScript
    e: ThreadScript
    last_position: int


@pytest.fixture(scope="module")
def world(service: RunningService, kafka_settings: KafkaSettings) -> World:
    positions = Positions(start=uuid.uuid4().int % 10**6 * 1000)
    word = f"zebra{uuid.uuid4().hex[:6]}"
    cust1 = f"cust-{uuid.uuid4().hex[:8]}"
    a = ThreadScript.new(positions, cust1)
    b = ThreadScript.new(positions, cust1)
    c = ThreadScript.new(positions)
    d = ThreadScript.new(positions, cust1)
    e = ThreadScript.new(positions, cust1)
    events: list[IntegrationEvent] = [a.registered(), b.registered(), c.registered(), d.registered(), e.registered()]
    events += [e.start(), e.post("Your order has shipped", ADMIN)]
    events += [a.start(), a.post(f"Where is my parcel {word}?")]
    events += [b.start(), b.post("We shipped it", ADMIN), b.post("It arrived broken"), b.open_dispute("Broken item")]
    events += [c.start(), c.post(f"Hello {word} again"), c.read("admin"), c.open_dispute("Late", ADMIN)]
    events += [c.close_dispute()]
    publish(kafka_settings, events)
    last = c.events[-1].position
    wait_for(lambda: int(service.get("/v1/bell").headers.get("X-Projection-Position", "0")) >= last, what="applied")
    return World(word, a, b, c, d, e, last)


def test_no_token_is_401_and_bad_token_too(service: RunningService) -> None:
    assert httpx.get(f"{service.url}/v1/threads").status_code == 401
    bad = httpx.get(f"{service.url}/v1/bell", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_keyword_search_matches_message_text_and_order_number(service: RunningService, world: World) -> None:
    found = service.get("/v1/threads", q=world.word).json()
    assert {i["order_id"] for i in found["items"]} == {world.a.order_id, world.c.order_id}
    assert found["total"] == 2
    by_number = service.get("/v1/threads", q=world.b.order_number).json()
    assert [i["order_id"] for i in by_number["items"]] == [world.b.order_id]
    upper = service.get("/v1/threads", q=world.word.upper() + " parcel").json()
    assert [i["order_id"] for i in upper["items"]] == [world.a.order_id]


def test_type_filters_unread_and_disputes(service: RunningService, world: World) -> None:
    mine = {world.a.order_id, world.b.order_id, world.c.order_id}
    unread = {i["order_id"] for i in service.get("/v1/threads", type="unread", per_page=200).json()["items"]}
    assert unread & mine == {world.a.order_id, world.b.order_id}
    disputes = service.get("/v1/threads", type="disputes", per_page=200).json()["items"]
    assert {i["order_id"] for i in disputes} & mine == {world.b.order_id}
    row = next(i for i in disputes if i["order_id"] == world.b.order_id)
    assert row["dispute"]["reason"] == "Broken item"
    assert row["unread_for_admin"] == 1 and row["unread"] == 1 and row["message_count"] == 2
    assert row["last_message"]["excerpt"] == "It arrived broken"


def test_newest_activity_first_and_pagination(service: RunningService, world: World) -> None:
    cust = world.a.customer.id
    pages = [service.get("/v1/threads", role="customer", subject=cust, per_page=1, page=n).json() for n in (1, 2, 3, 4)]
    assert [p["total"] for p in pages] == [3, 3, 3, 3]
    assert pages[0]["items"][0]["order_id"] == world.b.order_id  # its dispute is the latest activity
    seen = [p["items"][0]["order_id"] for p in pages[:3]]
    assert sorted(seen) == sorted([world.a.order_id, world.b.order_id, world.e.order_id])
    assert pages[3]["items"] == []


def test_customer_sees_only_own_threads_and_orders(service: RunningService, world: World) -> None:
    cust = world.a.customer.id
    rows = service.get("/v1/threads", role="customer", subject=cust).json()["items"]
    assert {r["order_id"] for r in rows} == {world.a.order_id, world.b.order_id, world.e.order_id}
    assert service.get(f"/v1/threads/{world.c.order_id}", role="customer", subject=cust).status_code == 404
    assert service.get(f"/v1/orders/{world.c.order_id}", role="customer", subject=cust).status_code == 404
    assert service.get(f"/v1/threads/{world.a.order_id}", role="customer", subject=cust).status_code == 200
    own = service.get(f"/v1/threads/{world.e.order_id}", role="customer", subject=cust).json()
    assert own["unread"] == 1 and own["unread_for_admin"] == 0  # the admin's message
    bell = service.get("/v1/bell", role="customer", subject=cust).json()
    assert bell == {"threads_with_news": 1, "threads_with_unread_messages": 1, "unseen_disputes": 0}  # e only


def test_thread_detail_has_messages_read_positions_and_dispute_history(service: RunningService, world: World) -> None:
    body = service.get(f"/v1/threads/{world.c.order_id}").json()
    assert [m["seq"] for m in body["messages"]] == [1]
    assert body["messages"][0]["body"] == f"Hello {world.word} again"
    assert body["read_positions"] == {"customer": 1, "admin": 1}
    assert body["dispute"] is None
    [history] = body["disputes"]
    assert history["opened_by"]["display_name"] == "Admin Admin" and history["closed_at"] is not None
    open_one = service.get(f"/v1/threads/{world.b.order_id}").json()
    assert [m["body"] for m in open_one["messages"]] == ["We shipped it", "It arrived broken"]
    assert open_one["dispute"]["opened_by"]["display_name"] == world.b.customer.name
    assert open_one["dispute"]["opened_at"].startswith("2026-01-01")
    assert service.get("/v1/threads/ord-unknown").status_code == 404


def test_orders_filter_all_unread_any(service: RunningService, world: World) -> None:
    def ids(messages: str) -> set[str]:
        return {i["order_id"] for i in service.get("/v1/orders", messages=messages, per_page=200).json()["items"]}

    mine = {world.a.order_id, world.b.order_id, world.c.order_id, world.d.order_id}
    assert ids("all") & mine == mine
    assert ids("any") & mine == {world.a.order_id, world.b.order_id, world.c.order_id}
    assert ids("unread") & mine == {world.a.order_id, world.b.order_id}
    d = service.get(f"/v1/orders/{world.d.order_id}").json()
    assert d["has_messages"] is False and d["order_number"] == world.d.order_number
    b = service.get(f"/v1/orders/{world.b.order_id}").json()
    assert (b["message_count"], b["unread_for_admin"], b["has_messages"]) == (2, 1, True)


def test_admin_bell_agrees_with_the_lists(service: RunningService, world: World) -> None:
    def total(kind: str) -> int:
        return int(service.get("/v1/threads", type=kind, per_page=1).json()["total"])

    bell = service.get("/v1/bell", after=world.last_position).json()
    assert set(bell) == {"threads_with_news", "threads_with_unread_messages", "unseen_disputes"}
    assert bell["threads_with_unread_messages"] == total("unread") >= 2
    assert bell["unseen_disputes"] == total("unseen_disputes") >= 1
    assert bell["threads_with_news"] == total("news") >= bell["threads_with_unread_messages"]


def test_counts_follow_the_vocabulary_disputes_without_messages_and_own_disputes(
    service: RunningService, kafka_settings: KafkaSettings
) -> None:
    positions = Positions(start=uuid.uuid4().int % 10**6 * 1000)
    cust = f"cust-{uuid.uuid4().hex[:8]}"
    quiet = ThreadScript.new(positions, cust)  # the customer opens a dispute after the admin read: no new message
    own = ThreadScript.new(positions, cust)  # the admin opens a dispute: news for the customer only
    chatty = ThreadScript.new(positions, cust)  # two unread messages and a dispute: one thread with news
    events: list[IntegrationEvent] = [quiet.registered(), own.registered(), chatty.registered()]
    events += [quiet.start(), quiet.post("Hello"), quiet.read("admin"), quiet.open_dispute("Never arrived")]
    events += [own.start(), own.post("Hi"), own.read("admin"), own.open_dispute("Address check", ADMIN)]
    events += [chatty.start(), chatty.post("One"), chatty.post("Two"), chatty.open_dispute("Broken")]
    publish(kafka_settings, events)

    def applied(*scripts: ThreadScript) -> bool:
        docs = [service.get(f"/v1/threads/{s.order_id}").json() for s in scripts]
        return all(d.get("version") == s.events[-1].thread_version for d, s in zip(docs, scripts, strict=True))

    wait_for(lambda: applied(quiet, own, chatty), what="the three threads applied")

    def ids(kind: str, role: str = "admin") -> set[str]:
        rows = service.get("/v1/threads", type=kind, per_page=200, role=role, subject=cust).json()["items"]
        return {r["order_id"] for r in rows} & {quiet.order_id, own.order_id, chatty.order_id}

    assert ids("unread") == {chatty.order_id}
    assert ids("unseen_disputes") == {quiet.order_id, chatty.order_id}  # not the admin's own
    assert ids("news") == {quiet.order_id, chatty.order_id}
    assert ids("news", "customer") == {own.order_id}
    assert service.get("/v1/bell", role="customer", subject=cust).json() == {
        "threads_with_news": 1,
        "threads_with_unread_messages": 0,
        "unseen_disputes": 1,
    }
    row = service.get(f"/v1/threads/{quiet.order_id}").json()
    assert (row["unread"], row["unseen_dispute"], row["has_news"]) == (0, True, True)
    seen = quiet.read("admin")  # reading the thread marks the dispute seen, with no message to move over
    publish(kafka_settings, [seen])
    wait_for(lambda: applied(quiet), what="the read applied")
    row = service.get(f"/v1/threads/{quiet.order_id}").json()
    assert (row["unread"], row["unseen_dispute"], row["has_news"]) == (0, False, False)
    assert row["dispute"]["reason"] == "Never arrived"
    assert ids("news") == {chatty.order_id}


def test_bad_input_is_a_422_problem(service: RunningService) -> None:
    for params in ({"type": "everything"}, {"page": "0"}, {"per_page": "1000"}, {"after": "-1"}):
        answer = service.get("/v1/threads", **params)
        assert answer.status_code == 422, params
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert service.get("/v1/orders", messages="some").status_code == 422


def test_cors_preflight_allows_the_configured_origin(service: RunningService) -> None:
    answer = httpx.options(
        f"{service.url}/v1/threads",
        headers={"Origin": "http://shop.test", "Access-Control-Request-Method": "GET"},
    )
    assert answer.headers.get("access-control-allow-origin") == "http://shop.test"
    other = httpx.options(
        f"{service.url}/v1/threads", headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in other.headers


def test_read_your_writes_waits_for_the_position(
    service: RunningService, world: World, kafka_settings: KafkaSettings
) -> None:
    event = world.a.post("A new one")
    publish(kafka_settings, [event])
    answer = service.get(f"/v1/threads/{world.a.order_id}", after=event.position)
    assert answer.json()["message_count"] == 2
    assert int(answer.headers["X-Projection-Position"]) >= event.position


def test_redelivered_and_old_events_change_nothing(
    service: RunningService, world: World, kafka_settings: KafkaSettings
) -> None:
    before = service.get(f"/v1/threads/{world.b.order_id}").json()
    marker = world.c.post("marker after the duplicates")
    publish(kafka_settings, [*world.b.events, world.b.events[1], world.b.events[0], marker])
    wait_for(lambda: service.get(f"/v1/threads/{world.c.order_id}").json()["version"] == marker.thread_version)
    after = service.get(f"/v1/threads/{world.b.order_id}").json()
    assert after == before
    order = service.get(f"/v1/orders/{world.b.order_id}").json()
    assert order["message_count"] == 2
