"""The event-handling use case over in-memory ports: outbox rows, redelivery, alerts."""

from __future__ import annotations

from tests.notifier.events import ADMIN, ThreadBuilder, all_kinds

from ordertalk_notifier.fakes import InMemoryOutbox, InMemoryThreadStore
from ordertalk_notifier.handling import BatchOutcome, EventHandler
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


async def test_an_event_beyond_a_gap_waits_and_the_late_one_is_applied_not_dropped() -> None:
    # ThreadStarted, MessagePosted v3, then v2: the store has 2 messages, 2 unread for the staff.
    h = handler()
    t = ThreadBuilder()
    started, v2, v3 = t.started(), t.message(t.customer, "first"), t.message(t.customer, "second")
    await h.handle_batch([started])
    early = await h.handle_batch([v3])
    assert early.new_emails == 0  # not applied yet: nothing to tell, no count moves
    state = await h.threads.get(t.order_id)
    assert state is not None and state.version == 1 and state.message_count == 0
    assert await h.counts("admin") == {"threads_with_news": 0, "threads_with_unread_messages": 0, "unseen_disputes": 0}
    late = await h.handle_batch([v2])
    assert late.new_emails == 2  # the store's e-mails for v2 and v3, once each
    state = await h.threads.get(t.order_id)
    assert state is not None and (state.version, state.message_count, state.unread_for("admin")) == (3, 2, 2)
    assert await h.counts("admin") == {"threads_with_news": 1, "threads_with_unread_messages": 1, "unseen_disputes": 0}
    assert isinstance(h.threads, InMemoryThreadStore) and not h.threads.parked
    assert await h.handle_batch([v2, v3]) == BatchOutcome()  # redeliveries change nothing


async def test_parked_events_are_durable_across_a_restart_and_a_redelivery_fills_the_gap() -> None:
    h = handler()
    t = ThreadBuilder()
    started, v2, v3, v4 = t.started(), t.message(t.customer), t.message(ADMIN), t.read(t.customer)
    await h.handle_batch([started, v4, v3])
    assert isinstance(h.threads, InMemoryThreadStore)
    assert sorted(v for _, v in h.threads.parked) == [3, 4]
    again = EventHandler(h.threads, h.outbox, h.hub, h.links, h.sender)  # a new process over the same stores
    await again.handle_batch([v2])
    state = await again.threads.get(t.order_id)
    assert state is not None and state.version == 4 and state.unread_for("customer") == 0
    assert not h.threads.parked
    assert isinstance(h.outbox, InMemoryOutbox)
    assert len(h.outbox.entries) == 2  # customer's message to the store, the staff's reply to the customer


async def test_pipelined_batches_see_the_events_parked_by_a_batch_not_persisted_yet() -> None:
    h = handler()
    t = ThreadBuilder()
    started, v2, v3 = t.started(), t.message(t.customer), t.message(t.customer)
    first = await h.prepare([started, v3])
    second = await h.prepare([v2])
    await h.persist(first, second)
    state = await h.threads.get(t.order_id)
    assert state is not None and state.version == 3 and state.message_count == 2
    assert isinstance(h.threads, InMemoryThreadStore) and not h.threads.parked


async def test_a_thread_whose_first_event_is_not_thread_started_creates_no_state_and_no_count() -> None:
    h = handler()
    forged = ThreadBuilder().message(ADMIN)  # version 1, but a message: nobody registered this order
    outcome = await h.handle_batch([forged])
    assert outcome.new_emails == 0 and await h.threads.get(forged.order_id) is None
    assert await h.counts("admin") == {"threads_with_news": 0, "threads_with_unread_messages": 0, "unseen_disputes": 0}
    assert isinstance(h.threads, InMemoryThreadStore) and list(h.threads.parked) == [(forged.order_id, 1)]


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


# Every event of a batch is its own alert, counts-only ones included: open lists patch the row each names.
async def test_the_staffs_own_actions_in_one_batch_each_name_their_thread() -> None:
    h = handler()
    first, second, third = ThreadBuilder(), ThreadBuilder(), ThreadBuilder()
    await h.handle_batch([first.started(), second.started(), third.started()])
    with h.hub.subscribe("admin") as admin:
        batch = [first.message(ADMIN), second.read(ADMIN), third.message(third.customer)]
        await h.handle_batch(batch)
        alerts = [admin.get_nowait() for _ in range(admin.qsize())]
    assert [(a["order_id"], a["position"]) for a in alerts] == [(e.order_id, e.position) for e in batch]
    assert [a["description"] is None for a in alerts] == [True, True, False]  # the staff's own: counts only
    assert all(a["counts"] == alerts[-1]["counts"] for a in alerts)  # the batch's counts, in each
