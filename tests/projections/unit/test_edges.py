"""Pure edges: intake of raw records, query filters, the fake event feed, the position watch."""

from __future__ import annotations

import asyncio

import pytest
from tests.projections.scripts import Positions, ThreadScript

from ordertalk_contracts import ORDERS, THREAD_EVENTS, dump
from ordertalk_projections.adapters.feed import FeedError, InMemoryEventFeed, page_from_json
from ordertalk_projections.adapters.mongo_queries import order_filter, thread_filter
from ordertalk_projections.application.positions import PositionWatch, wait_until
from ordertalk_projections.domain.intake import Rejected, accept
from ordertalk_projections.domain.reading import Viewer


def test_intake_rejects_poison_with_a_reason() -> None:
    s = ThreadScript.new(Positions())
    assert accept(THREAD_EVENTS, dump(s.start())) == s.events[0]
    for topic, raw, reason in [
        (THREAD_EVENTS, b"{oops", "not JSON"),
        (THREAD_EVENTS, b'{"event_type": "X", "schema_version": 9}', "unknown event X v9"),
        (THREAD_EVENTS, dump(s.registered()), "is not a thread event"),
        (ORDERS, dump(s.events[0]), "does not belong"),
        (THREAD_EVENTS, None, "empty"),
    ]:
        outcome = accept(topic, raw)
        assert isinstance(outcome, Rejected) and reason in outcome.reason


def test_filters_scope_customers_and_combine_keywords_and_type() -> None:
    customer = Viewer.of("customer", "c-1")
    assert thread_filter(customer, "Parcel #0011", "unread") == {
        "customer_id": "c-1",
        "keywords": {"$all": ["11", "parcel"]},
        "unread_for_customer": {"$gt": 0},
    }
    admin = Viewer.of("admin", "staff")
    assert thread_filter(admin, None, "disputes") == {"has_open_dispute": True}
    assert thread_filter(admin, None, "unseen_disputes") == {"unseen_dispute_for_admin": True}
    assert thread_filter(customer, None, "news") == {"customer_id": "c-1", "news_for_customer": True}
    assert order_filter(admin, "unread") == {"unread_for_admin": {"$gt": 0}}
    assert order_filter(admin, "any") == {"has_messages": True}
    assert order_filter(customer, "all") == {"customer_id": "c-1"}


def test_fake_feed_pages_by_position() -> None:
    s = ThreadScript.new(Positions())
    events = [s.start(), s.post("a"), s.post("b")]
    feed = InMemoryEventFeed(list(reversed(events)))
    page = asyncio.run(feed.read(1, 1))
    assert page.events == [events[1]] and page.last_position == 2
    assert asyncio.run(feed.read(3, 10)).events == []
    assert feed.calls == [(1, 1), (3, 10)]


def test_feed_answer_parsing_counts_rejected_items() -> None:
    s = ThreadScript.new(Positions())
    good = s.start().model_dump(mode="json")
    page = page_from_json({"events": [good, {"event_type": "Nope"}], "last_position": 7}, 0)
    assert len(page.events) == 1 and page.rejected == 1 and page.last_position == 7
    with pytest.raises(FeedError):
        page_from_json({"nothing": []}, 0)


def test_position_watch_wakes_waiters_and_bounds_the_wait() -> None:
    async def go() -> tuple[bool, bool]:
        watch = PositionWatch()

        async def reached() -> bool:
            return watch.position >= 5

        waiter = asyncio.create_task(wait_until(reached, watch, within=2.0, poll=1.0))
        await asyncio.sleep(0)
        watch.advance(5)
        ok = await asyncio.wait_for(waiter, 0.5)  # woken by the watch, not by the 1 s poll
        late = await wait_until(lambda: asyncio.sleep(0, result=False), watch, within=0.05)
        return ok, late

    assert asyncio.run(go()) == (True, False)
