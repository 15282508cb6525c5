"""The event-handling use case over in-memory ports: outbox rows, redelivery, alerts."""

from __future__ import annotations

from tests.notifier.events import ADMIN, ThreadBuilder, all_kinds

from ordertalk_contracts import ThreadEvent
from ordertalk_notifier.fakes import InMemoryOutbox, InMemoryThreadStore
from ordertalk_notifier.handling import EventHandler
from ordertalk_notifier.hub import BroadcastHub
from ordertalk_notifier.policy import Links
from ordertalk_notifier.rendering import Sender


def handler() -> EventHandler:
    return EventHandler(
        InMemoryThreadStore(),
        InMemoryOutbox(),
        BroadcastHub(),
        Links("store@example.com", "http://web/admin", "http://web/store"),
        Sender("notify@shop.example", "Shop"),
    )


async def test_each_event_kind_records_the_right_emails_and_a_redelivery_records_none() -> None:
    h = handler()
    t = ThreadBuilder()
    events = all_kinds(t)
    outcome = await h.handle_batch(events)
    assert outcome.new_emails == 4  # customer message, store message, customer dispute, store closing it
    assert isinstance(h.outbox, InMemoryOutbox)
    recipients = sorted(e.recipient for e in h.outbox.entries.values())
    assert recipients == ["jane@example.com", "jane@example.com", "store@example.com", "store@example.com"]
    again = await h.handle_batch(events)
    assert again.new_emails == 0
    assert len(h.outbox.entries) == 4


async def test_alerts_reach_subscribers_with_counts_and_descriptions() -> None:
    h = handler()
    t = ThreadBuilder(order_number="#00011")
    await h.handle_batch([t.started()])
    with h.hub.subscribe("admin") as admin, h.hub.subscribe(f"customer:{t.customer_id}") as customer:
        await h.handle_batch([t.message(t.customer), t.message(t.customer)])
        first, second = admin.get_nowait(), admin.get_nowait()
        assert first["description"] == "New message for order #00011 from Jane Doe"
        assert second["counts"] == {"threads_with_news": 1, "threads_with_unread_messages": 1, "unseen_disputes": 0}
        assert customer.get_nowait()["description"] is None  # the customer's own message: counts only
        await h.handle_batch([t.read(ADMIN), t.dispute_opened(t.customer)])
        latest = [admin.get_nowait() for _ in range(admin.qsize())]
        assert latest[-1]["counts"] == {"threads_with_news": 1, "threads_with_unread_messages": 0, "unseen_disputes": 1}
        assert latest[-1]["description"] == "Dispute opened on order #00011 by Jane Doe"


async def test_a_gap_is_fast_forwarded_and_still_notifies() -> None:
    h = handler()
    t = ThreadBuilder()
    started = t.started()
    t.message(t.customer)  # lost
    later: ThreadEvent = t.message(ADMIN)
    await h.handle_batch([started])
    outcome = await h.handle_batch([later])
    assert outcome.new_emails == 1


async def test_the_tally_matches_counts_recomputed_from_the_states() -> None:
    h = handler()
    a, b = ThreadBuilder(), ThreadBuilder()
    await h.handle_batch([a.started(), b.started(), a.message(a.customer), b.message(ADMIN)])
    await h.handle_batch([a.dispute_opened(a.customer), b.message(b.customer), a.message(a.customer)])
    await h.handle_batch([a.read(ADMIN), b.message(ADMIN), a.dispute_closed(ADMIN), b.marked_unread(ADMIN, 1)])
    assert h.tally.loaded
    assert await h.counts("admin") == await h.threads.admin_counts()
    for t in (a, b):
        assert await h.counts(f"customer:{t.customer_id}") == await h.threads.customer_counts(t.customer_id)
    assert await h.counts("admin") == {"threads_with_news": 1, "threads_with_unread_messages": 1, "unseen_disputes": 0}


async def test_prepared_batches_alert_at_once_and_persist_together_in_order() -> None:
    h = handler()
    offered: list[str] = []
    h.on_new_emails = offered.extend
    t = ThreadBuilder()
    await h.handle_batch([t.started()])
    with h.hub.subscribe("admin") as admin:
        first = await h.prepare([t.message(t.customer, "one")])
        second = await h.prepare([t.dispute_opened(t.customer)])  # folded on the first, not yet written
        counts = [admin.get_nowait()["counts"] for _ in range(2)]
        assert [(c["threads_with_unread_messages"], c["unseen_disputes"]) for c in counts] == [(1, 0), (1, 1)]
        assert [c["threads_with_news"] for c in counts] == [1, 1]  # one thread, counted once
    assert isinstance(h.outbox, InMemoryOutbox) and isinstance(h.threads, InMemoryThreadStore)
    assert h.outbox.entries == {} and h.threads.states[t.order_id].version == 1  # nothing durable yet
    await h.persist(first, second)
    assert len(h.outbox.entries) == 2 and len(offered) == 2
    assert h.threads.states[t.order_id].version == 3
    await h.persist(first, second)  # a repeated write (after an error) records nothing twice
    assert len(h.outbox.entries) == 2
    h.forget_states()
    again = await h.handle_batch([t.message(t.customer, "three")])
    assert again.new_emails == 1 and await h.counts("admin") == await h.threads.admin_counts()
