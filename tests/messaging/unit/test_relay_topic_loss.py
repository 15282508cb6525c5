"""The relay stops while its topic is missing or wrong, says why, and starts over when the broker was wiped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.messaging.unit.test_relay import ListLog, relay_for, wait_for

from ordertalk_contracts import parse_thread_event
from ordertalk_messaging.adapters.publishing import RecordingPublisher
from ordertalk_messaging.adapters.relay import RELAY_NAME, NotificationSource, Relay
from ordertalk_messaging.adapters.storage.memory import MemoryPositionStore


def positions_sent(publisher: RecordingPublisher) -> list[int]:
    """The positions of the events the publisher took, in the order it took them."""
    return [parse_thread_event(r.value).position for r in publisher.sent]


def one_thread(events: int) -> tuple[ListLog, MemoryPositionStore, RecordingPublisher]:
    """A log holding one thread of ``events`` stored events, an empty position store and a recording publisher."""
    log, positions, publisher = ListLog(), MemoryPositionStore(), RecordingPublisher()
    log.append_thread("1", events)
    return log, positions, publisher


@asynccontextmanager
async def running(relay: Relay) -> AsyncIterator[None]:
    """``relay`` running in a task of its own, stopped and awaited on leaving."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


MISSING = "topic ordertalk.thread-events.v1 is missing (configured with 6 partitions)"


async def lose_the_topic_while_a_thread_arrives(relay: Relay, log: ListLog, publisher: RecordingPublisher) -> None:
    """The broker loses the topic once the first thread is published; a second thread is stored meanwhile."""
    await wait_for(lambda: relay.position == 4)
    publisher.wipe(MISSING)
    log.append_thread("2", 1)
    relay.wake()
    await wait_for(lambda: relay.problem is not None)


async def test_stops_while_the_topic_is_lost_and_republishes_everything_in_order_once_it_is_back() -> None:
    log, positions, publisher = one_thread(3)
    relay = relay_for(log, publisher, positions, check_seconds=0.02)
    async with running(relay):
        await lose_the_topic_while_a_thread_arrives(relay, log, publisher)
        assert relay.not_ready() == [f"relay stopped: {MISSING}"]
        await asyncio.sleep(0.1)
        assert publisher.sent == [] and relay.position == 4  # nothing sent, nothing skipped

        publisher.restore()  # the operator re-created the topic: it is empty
        await wait_for(lambda: relay.position == 6)
    assert relay.not_ready() == [] and relay.rewinds == 1
    assert positions_sent(publisher) == [1, 2, 3, 4, 5, 6]
    assert positions.get(RELAY_NAME) == 6


async def test_a_topic_that_was_missing_is_published_again_from_the_start_whatever_its_end_offsets_say() -> None:
    log, positions, publisher = one_thread(3)
    relay = relay_for(log, publisher, positions, check_seconds=0.02)
    async with running(relay):
        await lose_the_topic_while_a_thread_arrives(relay, log, publisher)
        publisher.wiped = False  # created again, but reporting end offsets as if it held records
        publisher.failures_left = 1  # and the first publish after it fails
        publisher.restore()
        await wait_for(lambda: relay.position == 6)
    assert relay.rewinds == 1 and positions_sent(publisher) == [1, 2, 3, 4, 5, 6]


async def test_resumes_where_it_was_when_the_topic_kept_its_records() -> None:
    log, positions, publisher = one_thread(3)
    relay = relay_for(log, publisher, positions, check_seconds=0.02)
    async with running(relay):
        await wait_for(lambda: relay.position == 4)
        publisher.problem = "topic ordertalk.thread-events.v1 has 4 partitions, configured 6"
        log.append_thread("2", 1)
        relay.wake()
        await wait_for(lambda: relay.problem is not None)
        publisher.problem = None  # put right, records kept (not wiped)
        await wait_for(lambda: relay.position == 6)
    assert relay.rewinds == 0 and positions_sent(publisher) == [1, 2, 3, 4, 5, 6]


async def test_a_relay_started_on_a_wiped_topic_starts_from_the_first_event() -> None:
    log, positions, publisher = one_thread(2)
    positions.put(RELAY_NAME, 3)
    publisher.wipe()
    publisher.restore()
    relay = relay_for(log, publisher, positions)
    async with running(relay):
        await wait_for(lambda: relay.position == 3 and len(publisher.sent) == 3)
    assert positions_sent(publisher) == [1, 2, 3]


async def test_an_idle_relay_sees_its_topic_go_and_starts_over_when_it_is_back() -> None:
    log, positions, publisher = one_thread(2)
    relay = Relay(
        source=NotificationSource(log.select),
        translate=log.translate,
        publisher=publisher,
        positions=positions,
        poll_seconds=0.01,
        check_seconds=0.02,
    )
    async with running(relay):
        await wait_for(lambda: relay.position == 3)
        publisher.wipe()  # nothing is saved meanwhile
        await wait_for(lambda: relay.problem is not None)
        publisher.restore()
        await wait_for(lambda: relay.problem is None and len(publisher.sent) == 3)
    assert relay.rewinds == 1 and positions_sent(publisher) == [1, 2, 3]


async def test_the_start_over_is_recorded_before_anything_is_published_again() -> None:
    log, positions, publisher = one_thread(4)
    positions.put(RELAY_NAME, 5)
    publisher.wipe()
    publisher.restore()
    publisher.failures_left = 10_000  # every publish after the start-over fails: a crash would restart from here
    relay = relay_for(log, publisher, positions)
    async with running(relay):
        await wait_for(lambda: positions.get(RELAY_NAME) == 0)
    assert publisher.sent == []
