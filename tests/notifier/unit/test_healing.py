"""The notifier's gap healing and trust over in-memory ports and an in-memory event feed."""

from __future__ import annotations

from tests.notifier.events import ADMIN, ThreadBuilder

from ordertalk_contracts import MessagePostedV1, ThreadEvent
from ordertalk_notifier.fakes import InMemoryOutbox, InMemoryThreadStore
from ordertalk_notifier.handling import EventHandler
from ordertalk_notifier.healing import healing_pass, voucher
from ordertalk_notifier.hub import BroadcastHub
from ordertalk_notifier.policy import Links
from ordertalk_notifier.rendering import Sender
from ordertalk_runtime.event_feed import InMemoryEventFeed
from ordertalk_runtime.vouching import InMemoryHeldEvents


def handler(feed: InMemoryEventFeed, held: InMemoryHeldEvents) -> EventHandler:
    return EventHandler(
        InMemoryThreadStore(),
        InMemoryOutbox(),
        BroadcastHub(),
        Links("store@example.com", "http://web/admin", "http://web/store"),
        Sender("notify@shop.example", "Shop"),
        voucher=voucher(feed, held),
    )


async def test_a_gap_kafka_never_fills_is_healed_from_the_feed_and_each_email_is_queued_once() -> None:
    feed, held = InMemoryEventFeed(), InMemoryHeldEvents()
    h = handler(feed, held)
    t = ThreadBuilder()
    started, lost, v3 = t.started(), t.message(t.customer), t.message(ADMIN)
    feed.events = [started, lost, v3]
    await h.handle_batch([started, v3])  # v2 never comes from Kafka
    assert (await h.threads.get(t.order_id)).version == 1  # type: ignore[union-attr]
    healing = healing_pass(h, feed, held)
    assert await healing.heal_once() == 2
    state = await h.threads.get(t.order_id)
    assert state is not None and (state.version, state.message_count) == (3, 2)
    assert isinstance(h.threads, InMemoryThreadStore) and not h.threads.parked
    assert len(h.outbox.entries) == 2  # type: ignore[attr-defined]
    assert await healing.heal_once() == 0


async def test_an_event_beyond_the_store_head_is_held_then_applied_once_the_store_holds_it() -> None:
    feed, held = InMemoryEventFeed(), InMemoryHeldEvents()
    h = handler(feed, held)
    t = ThreadBuilder()
    started, early = t.started(), t.message(t.customer)
    feed.events = [started]
    await h.handle_batch([started, early])
    assert list(held.events) == [str(early.event_id)]
    assert (await h.threads.get(t.order_id)).version == 1  # type: ignore[union-attr]
    feed.events.append(early)
    assert await healing_pass(h, feed, held).heal_once() == 1
    assert (await h.threads.get(t.order_id)).message_count == 1  # type: ignore[union-attr]
    assert not held.events


async def test_a_forged_thread_the_store_never_started_is_set_aside_not_counted() -> None:
    feed, held = InMemoryEventFeed(), InMemoryHeldEvents()
    h = handler(feed, held)
    real = ThreadBuilder()
    feed.events = [real.started(), real.message(real.customer)]
    forged = MessagePostedV1(**{**ThreadBuilder().message(ADMIN).model_dump(), "position": 1})
    await h.handle_batch([*(e for e in feed.events if isinstance(e, ThreadEvent)), forged])
    assert isinstance(h.threads, InMemoryThreadStore) and list(h.threads.parked) == [(forged.order_id, 1)]
    await healing_pass(h, feed, held).heal_once()
    assert not h.threads.parked and list(held.refuted) == [str(forged.event_id)]
    assert await h.threads.get(forged.order_id) is None
    assert await h.counts("admin") == {"threads_with_news": 1, "threads_with_unread_messages": 1, "unseen_disputes": 0}
