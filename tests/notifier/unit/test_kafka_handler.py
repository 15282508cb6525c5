"""The notifier's handler on the consumer runtime, under FastStream's TestKafkaBroker (ports in memory)."""

from __future__ import annotations

from pymongo.errors import AutoReconnect
from tests.notifier.events import ThreadBuilder
from tests.support.memory_broker import consume_in_memory

from ordertalk_contracts import ThreadEvent, dump
from ordertalk_contracts.topics import THREAD_EVENTS
from ordertalk_notifier.adapters.kafka import thread_event_consumer
from ordertalk_notifier.fakes import InMemoryOutbox, InMemoryThreadStore
from ordertalk_notifier.handling import EventHandler
from ordertalk_notifier.hub import BroadcastHub
from ordertalk_notifier.policy import Links
from ordertalk_notifier.ports import OutboxEntry
from ordertalk_notifier.rendering import Sender
from ordertalk_runtime.kafka import KafkaSettings


class FlakyOutbox(InMemoryOutbox):
    """An outbox whose first ``failures`` writes fail as MongoDB does when its primary is away."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def add(self, entries: list[OutboxEntry]) -> int:
        """Fail while failures are left, then store."""
        if self.failures:
            self.failures -= 1
            raise AutoReconnect("primary away")
        return await super().add(entries)


def event_handler(outbox: InMemoryOutbox) -> EventHandler:
    """The use case over in-memory ports."""
    return EventHandler(
        InMemoryThreadStore(),
        outbox,
        BroadcastHub(),
        Links("store@example.com", "http://web/admin", "http://web/store"),
        Sender("notify@shop.example", "Shop"),
    )


async def run(handler: EventHandler, *batches: list[bytes]) -> list[dict[str, str]]:
    """Publish each batch of raw values to the thread-events topic; answer the dead letters' headers."""
    consumer = thread_event_consumer(KafkaSettings(), "g-notifier-test", handler)
    return await consume_in_memory(consumer, THREAD_EVENTS, batches, 10)


def raw(*events: ThreadEvent) -> list[bytes]:
    """The wire bytes of events."""
    return [dump(e) for e in events]


async def test_e_mails_are_recorded_once_per_event_and_recipient_and_poison_goes_to_dead_letters() -> None:
    outbox = InMemoryOutbox()
    handler = event_handler(outbox)
    t = ThreadBuilder()
    started, message = t.started(), t.message(t.customer, "hello")
    letters = await run(handler, [*raw(started, message), b"not json"], raw(message))  # then a redelivery
    assert [e.recipient for e in outbox.entries.values()] == ["store@example.com"]
    assert len(letters) == 1 and "not JSON" in letters[0]["dlq.reason"]
    state = await handler.threads.get(t.order_id)
    assert state is not None and state.version == 2


async def test_a_write_failing_transiently_is_retried_and_nothing_is_lost_or_doubled() -> None:
    outbox = FlakyOutbox(failures=4)
    handler = event_handler(outbox)
    t = ThreadBuilder()
    letters = await run(handler, raw(t.started(), t.message(t.customer, "one"), t.message(t.customer, "two")))
    assert letters == []
    assert len(outbox.entries) == 2
    state = await handler.threads.get(t.order_id)
    assert state is not None and state.version == 3
