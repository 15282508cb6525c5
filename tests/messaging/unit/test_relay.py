"""The relay publishes in store order, records its position after publishing, and survives outages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import Notification
from tests.messaging.threads import ADMIN, order_thread

from ordertalk_contracts import ThreadEvent, parse_thread_event
from ordertalk_messaging.adapters.publishing import Outgoing, RecordingPublisher
from ordertalk_messaging.adapters.relay import RELAY_NAME, NotificationSource, Relay
from ordertalk_messaging.adapters.storage.memory import MemoryPositionStore
from ordertalk_messaging.application.translation import to_contract


class ListLog:
    """A notification log held in a list (ids 1..n); the payload is the contract event itself."""

    def __init__(self) -> None:
        self.events: list[ThreadEvent] = []

    def append_thread(self, order_id: str, messages: int) -> None:
        thread = order_thread(order_id)
        for i in range(messages):
            thread.post_message(uuid4(), f"m{i}", ADMIN, None)
        for e in thread.collect_events():
            self.events.append(to_contract(e, len(self.events) + 1))

    def select(self, position: int, limit: int) -> list[Notification]:
        return [
            Notification(originator_id=e.thread_id, originator_version=e.thread_version, topic="", state=b"", id=i + 1)
            for i, e in enumerate(self.events)
            if i + 1 > position
        ][:limit]

    def translate(self, n: Notification) -> ThreadEvent:
        return self.events[n.id - 1]


def relay_for(log: ListLog, publisher: RecordingPublisher, positions: MemoryPositionStore, **kw: object) -> Relay:
    return Relay(
        source=NotificationSource(log.select),
        translate=log.translate,
        publisher=publisher,
        positions=positions,
        batch_size=3,
        poll_seconds=5.0,
        max_backoff=0.05,
        **kw,  # type: ignore[arg-type]
    )


async def wait_for(condition: object, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def test_publishes_everything_in_order_and_records_position() -> None:
    log, publisher, positions = ListLog(), RecordingPublisher(), MemoryPositionStore()
    log.append_thread("1", 4)
    log.append_thread("2", 2)
    relay = relay_for(log, publisher, positions)
    while await relay.step():
        pass
    sent = [parse_thread_event(r.value) for r in publisher.sent]
    assert [e.position for e in sent] == list(range(1, 9))
    assert [r.key for r in publisher.sent] == [b"1"] * 5 + [b"2"] * 3
    assert positions.get(RELAY_NAME) == 8


async def test_resumes_from_recorded_position_and_republishes_on_request() -> None:
    log, positions = ListLog(), MemoryPositionStore()
    log.append_thread("1", 3)
    positions.put(RELAY_NAME, 2)
    resumed = RecordingPublisher()
    relay = relay_for(log, resumed, positions)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await wait_for(lambda: relay.position == 4)
    stop.set()
    await task
    assert [parse_thread_event(r.value).position for r in resumed.sent] == [3, 4]

    again = RecordingPublisher()
    relay = relay_for(log, again, positions, republish_on_start=True)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await wait_for(lambda: relay.position == 4)
    stop.set()
    await task
    assert [parse_thread_event(r.value).position for r in again.sent] == [1, 2, 3, 4]


async def test_outage_is_retried_without_skipping() -> None:
    log, positions = ListLog(), MemoryPositionStore()
    log.append_thread("1", 2)
    publisher = RecordingPublisher(failures_left=3)
    relay = relay_for(log, publisher, positions)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await wait_for(lambda: relay.position == 3)
    stop.set()
    await task
    assert [parse_thread_event(r.value).position for r in publisher.sent] == [1, 2, 3]
    assert publisher.failures_left == 0


async def test_wake_publishes_new_events_without_waiting_for_the_poll() -> None:
    log, positions, publisher = ListLog(), MemoryPositionStore(), RecordingPublisher()
    relay = relay_for(log, publisher, positions)  # polls only every 5 s
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await asyncio.sleep(0.05)
    log.append_thread("9", 0)
    started = time.monotonic()
    relay.wake()
    await wait_for(lambda: len(publisher.sent) == 1, within=1.0)
    assert time.monotonic() - started < 0.5
    stop.set()
    await task


async def test_position_is_recorded_at_most_every_interval_and_when_caught_up() -> None:
    log, publisher, positions = ListLog(), RecordingPublisher(), MemoryPositionStore()
    log.append_thread("1", 5)
    relay = relay_for(log, publisher, positions, record_seconds=3600.0)
    assert await relay.step() == 3
    assert positions.get(RELAY_NAME) == 3  # the first batch is recorded at once
    assert await relay.step() == 3
    assert positions.get(RELAY_NAME) == 3  # within the interval: published, not yet recorded
    assert relay.position == 6
    assert await relay.step() == 0
    assert positions.get(RELAY_NAME) == 6  # caught up: recorded


class CountingPublisher(RecordingPublisher):
    """Also notes how many records each publish call carried (one call is one broker round trip)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    async def publish(self, records: Sequence[Outgoing]) -> None:
        self.calls.append(len(records))
        await super().publish(records)


async def test_saves_right_behind_a_wake_share_its_publish() -> None:
    """After a wake the relay lingers, so the saves of the next moments go out in the same round trip."""
    log, positions, publisher = ListLog(), MemoryPositionStore(), CountingPublisher()
    relay = relay_for(log, publisher, positions, linger_seconds=0.3)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await wait_for(lambda: RELAY_NAME in positions.positions)  # caught up with the empty log: pausing
    for order in ("1", "2", "3"):
        log.append_thread(order, 0)
        relay.wake()
        await asyncio.sleep(0.03)  # saves arriving a little apart, well inside the linger
    await wait_for(lambda: len(publisher.sent) == 3)
    stop.set()
    await task
    assert publisher.calls == [3]


async def test_saves_while_a_wake_up_is_pending_hand_nothing_over_and_are_published() -> None:
    """The writer's thread wakes the relay after each commit; only the first of a burst crosses to the loop."""
    log, positions, publisher = ListLog(), MemoryPositionStore(), CountingPublisher()
    relay = relay_for(log, publisher, positions, linger_seconds=0.2)  # polls only every 5 s
    loop = asyncio.get_running_loop()
    handed_over: list[object] = []
    call_soon_threadsafe = loop.call_soon_threadsafe

    def counting(callback: Callable[..., object], *args: object, **kwargs: Any) -> asyncio.Handle:
        handed_over.append(callback)
        return call_soon_threadsafe(callback, *args, **kwargs)

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await wait_for(lambda: RELAY_NAME in positions.positions)  # caught up with the empty log: pausing

    def commits() -> None:  # as the writer thread does: save, then wake
        for order in ("1", "2", "3"):
            log.append_thread(order, 0)
            relay.wake()

    await asyncio.to_thread(commits)
    await wait_for(lambda: len(publisher.sent) == 3, within=1.0)
    assert [c for c in handed_over if c == relay._wakeup.set] == [relay._wakeup.set]  # type: ignore[union-attr]
    log.append_thread("4", 0)  # after the relay read: a new wake-up is handed over
    await asyncio.to_thread(relay.wake)
    await wait_for(lambda: len(publisher.sent) == 4, within=1.0)
    stop.set()
    await task
    assert publisher.calls == [3, 1]
