"""Kafka adapter: the notifier's handler on the shared consumer runtime (decode, prepare, persist, forget)."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo.errors import PyMongoError

from ordertalk_contracts import ThreadEvent, parse_thread_event
from ordertalk_contracts.topics import THREAD_EVENTS
from ordertalk_notifier.handling import EventHandler, PreparedBatch
from ordertalk_runtime.consumer import Consumer, ConsumerConfig, Record
from ordertalk_runtime.kafka import KafkaSettings
from ordertalk_runtime.retry import Transient

CONSUMER = "notifier"
TRANSIENT: Transient = (PyMongoError, OSError)


class ThreadEventHandler:
    """Thread events through ``EventHandler``: a batch is prepared at once (alerts out), persisted in stage 2.

    The runtime prepares the next batch while earlier ones are persisted, commits offsets only after their writes,
    and calls ``reset`` whenever cached states may be stale (a restart, a rebalance, a failed write).
    """

    def __init__(self, events: EventHandler) -> None:
        self.events = events

    def decode(self, record: Record) -> ThreadEvent:
        """The thread event a record carries (ContractError for poison: the runtime dead-letters it)."""
        return parse_thread_event(record.value)

    async def handle(self, events: Sequence[ThreadEvent]) -> PreparedBatch:
        """Fold the batch in memory and publish its alerts; answer its writes."""
        return await self.events.prepare(events)

    async def flush(self, staged: Sequence[PreparedBatch]) -> None:
        """Write prepared batches (outbox first; every write idempotent, so a redelivery sends no e-mail twice)."""
        await self.events.persist(*staged)

    def reset(self) -> None:
        """Forget cached states and counts."""
        self.events.forget_states()


def thread_event_consumer(
    kafka: KafkaSettings,
    group_id: str,
    events: EventHandler,
    fetch_max_wait_ms: int = 10,
    *,
    stall_seconds: float = 30.0,
) -> Consumer[ThreadEvent, PreparedBatch]:
    """The notifier's consumer group on the thread-events topic, on the shared runtime."""
    config = ConsumerConfig(
        name=CONSUMER,
        group_id=group_id,
        topics=(THREAD_EVENTS,),
        max_records=500,
        fetch_max_wait_ms=fetch_max_wait_ms,
        stall_seconds=stall_seconds,
    )
    return Consumer(config, kafka, ThreadEventHandler(events), TRANSIENT)
