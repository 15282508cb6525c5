"""The notifier's rebuild from the event feed: states repaired, ghosts removed, no e-mail ever queued twice."""

from __future__ import annotations

from ordertalk_threadstate import ThreadState, apply_event
from tests.notifier.events import ADMIN, ThreadBuilder

from ordertalk_contracts import ThreadEvent
from ordertalk_notifier.fakes import InMemoryOutbox, InMemoryThreadStore
from ordertalk_notifier.handling import EventHandler
from ordertalk_notifier.hub import BroadcastHub
from ordertalk_notifier.policy import Links
from ordertalk_notifier.rebuild import NotifierRebuild
from ordertalk_notifier.rendering import Sender
from ordertalk_runtime.event_feed import InMemoryEventFeed

LINKS = Links("store@example.com", "http://web/admin", "http://web/store")
SENDER = Sender("notify@shop.example", "Shop")


def fast_forwarded(events: list[ThreadEvent]) -> ThreadState:
    """What the notifier stored before the fix: ThreadStarted, v3 fast-forwarded, v2 dropped as a redelivery."""
    started, _, v3 = events
    state = apply_event(None, started)
    return apply_event(state.model_copy(update={"version": 2}), v3)


def rebuild(
    feed: InMemoryEventFeed, threads: InMemoryThreadStore, outbox: InMemoryOutbox, **kw: bool
) -> NotifierRebuild:
    return NotifierRebuild(feed, threads, outbox, LINKS, SENDER, **kw)


async def test_a_state_folded_wrong_is_repaired_a_ghost_removed_and_no_email_queued() -> None:
    t, ghost = ThreadBuilder(), ThreadBuilder()
    events: list[ThreadEvent] = [t.started(), t.message(t.customer), t.message(t.customer)]
    threads, outbox = InMemoryThreadStore(), InMemoryOutbox()
    ghost_state = apply_event(None, ghost.started())
    threads.states = {t.order_id: fast_forwarded(events), ghost.order_id: ghost_state}
    assert threads.states[t.order_id].message_count == 1
    report = await rebuild(InMemoryEventFeed(list(events)), threads, outbox).run()
    assert (report.events, report.threads, report.removed, report.emails_queued) == (3, 1, 1, 0)
    state = threads.states[t.order_id]
    assert (state.version, state.message_count, state.unread_for("admin")) == (3, 2, 2)
    assert not outbox.entries
    h = EventHandler(threads, outbox, BroadcastHub(), LINKS, SENDER)  # a notifier started after the rebuild
    assert await h.counts("admin") == {"threads_with_news": 1, "threads_with_unread_messages": 1, "unseen_disputes": 0}


async def test_send_missed_queues_only_the_emails_never_queued_and_a_second_run_none() -> None:
    t = ThreadBuilder()
    events: list[ThreadEvent] = [t.started(), t.message(t.customer), t.message(ADMIN)]
    threads, outbox = InMemoryThreadStore(), InMemoryOutbox()
    h = EventHandler(threads, outbox, BroadcastHub(), LINKS, SENDER)
    await h.handle_batch([events[0], events[2]])  # the staff's reply was handled (parked), the customer's message lost
    await h.handle_batch([events[1]])  # ... then applied: both e-mails queued
    queued = dict(outbox.entries)
    assert len(queued) == 2
    del outbox.entries[next(k for k, e in queued.items() if e.event_id == str(events[1].event_id))]  # never queued
    first = await rebuild(InMemoryEventFeed(list(events)), threads, outbox, send_missed=True).run()
    assert (first.emails_queued, first.emails_known) == (1, 1)
    assert set(outbox.entries) == set(queued)
    again = await rebuild(InMemoryEventFeed(list(events)), threads, outbox, send_missed=True).run()
    assert (again.emails_queued, again.emails_known) == (0, 2)
