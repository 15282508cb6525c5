"""Thread events trusted only as far as the store vouches: beyond its head held back, a ghost thread never made."""

from __future__ import annotations

import asyncio

from tests.projections.scripts import ADMIN, Positions, ThreadScript
from tests.projections.unit.test_applier import GEN, MemoryStore
from tests.support.forged import unstarted_message

from ordertalk_contracts import IntegrationEvent, MessagePostedV1, ThreadEvent
from ordertalk_projections.adapters.feed import FeedError, FeedPage, InMemoryEventFeed
from ordertalk_projections.application.applier import BatchApplier
from ordertalk_projections.domain.projector import fold
from ordertalk_runtime.vouching import FeedProbe, InMemoryHeldEvents, Voucher


def forged(position: int, order_id: str = "nobody-registered-this") -> MessagePostedV1:
    """A schema-valid MessagePosted for an order nobody registered (version 1 of a thread that never started)."""
    return unstarted_message(order_id, position, ADMIN, ThreadScript.new(Positions()).start().occurred_at)


def setup() -> tuple[MemoryStore, InMemoryEventFeed, InMemoryHeldEvents, BatchApplier, ThreadScript]:
    store, feed, held = MemoryStore(), InMemoryEventFeed(), InMemoryHeldEvents()
    s = ThreadScript.new(Positions())
    s.start()
    s.post("hello")
    feed.events = list(s.events)  # what the event store holds
    return store, feed, held, BatchApplier(store, voucher=Voucher(FeedProbe(feed), held, "projections")), s


def test_an_event_beyond_the_store_head_is_held_and_does_not_move_the_position() -> None:
    store, _feed, held, applier, s = setup()
    ghost = forged(999_999)
    result = asyncio.run(applier.apply(GEN, [*s.events, ghost]))
    assert result.applied == 2 and result.held == 1
    assert result.position == s.events[-1].position  # the watermark is not pinned at 999999
    assert ghost.order_id not in store.threads and list(held.events) == [str(ghost.event_id)]
    assert store.threads[s.order_id] == fold(None, s.events).projection


def test_the_head_is_read_again_when_an_event_exceeds_the_cached_head() -> None:
    _, feed, held, applier, s = setup()
    asyncio.run(applier.apply(GEN, list(s.events)))
    later = s.post("published after the commit")
    feed.events.append(later)
    calls = len(feed.calls)
    result = asyncio.run(applier.apply(GEN, [later]))
    assert result.applied == 1 and result.held == 0 and not held.events
    assert len(feed.calls) == calls + 1  # one read of the head, not one per event
    again = asyncio.run(applier.apply(GEN, [later]))
    assert again.held == 0 and len(feed.calls) == calls + 1  # within the known head: no read


def test_a_held_event_is_applied_once_the_store_holds_it_and_a_forged_one_is_refuted() -> None:
    _, feed, held, applier, s = setup()
    asyncio.run(applier.apply(GEN, list(s.events)))
    early = s.post("the relay was quicker than the feed")
    ghost = forged(early.position)  # claims the very same position
    result = asyncio.run(applier.apply(GEN, [early, ghost]))
    assert result.held == 2 and result.applied == 0
    assert applier.voucher is not None
    assert asyncio.run(applier.voucher.recheck()) == []  # the store has not got there yet
    feed.events.append(early)
    vouched = asyncio.run(applier.voucher.recheck())
    assert vouched == [early] and list(held.refuted) == [str(ghost.event_id)]


def test_a_thread_whose_first_event_is_not_thread_started_is_parked_not_a_ghost_row() -> None:
    store, _feed, _held, applier, s = setup()
    ghost = forged(s.events[-1].position)  # a position within the head: vouched by position, still no thread
    events: list[IntegrationEvent] = [ghost]
    result = asyncio.run(applier.apply(GEN, events))
    assert result.applied == 0 and ghost.order_id not in store.threads
    parked: list[ThreadEvent] = [e for (o, _), e in store.parked.items() if o == ghost.order_id]
    assert parked == [ghost]


class DownFeed(InMemoryEventFeed):
    """A feed that cannot be read (the messaging service is down)."""

    async def read(self, after: int, limit: int) -> FeedPage:
        raise FeedError("event feed unreachable")


def test_an_unreachable_store_holds_newer_events_back_instead_of_failing_the_batch() -> None:
    store, held = MemoryStore(), InMemoryHeldEvents()
    voucher = Voucher(FeedProbe(DownFeed()), held, "projections")
    applier = BatchApplier(store, voucher=voucher)
    s = ThreadScript.new(Positions())
    result = asyncio.run(applier.apply(GEN, [s.start()]))
    assert (result.applied, result.held, result.position) == (0, 1, 0)
    assert len(held.events) == 1 and not store.threads
