"""Publisher port and its aiokafka adapter: send keyed records and wait until the broker has them all.

Before each batch the adapter checks that its topic exists with the configured partition count (one
metadata round trip that creates nothing): a broker that lost the topic would otherwise take the
records onto a topic it re-created with other partitions, or into none at all (the local stand-in
accepts produce requests for a topic it no longer lists).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiokafka import AIOKafkaProducer

from ordertalk_contracts import THREAD_EVENTS, ThreadEvent, dump
from ordertalk_runtime.kafka import KafkaSettings
from ordertalk_runtime.topics import KafkaTopicProbe, TopicCheck, TopicMismatch


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record to publish."""

    key: bytes
    value: bytes

    @classmethod
    def of(cls, event: ThreadEvent) -> Outgoing:
        """A thread event keyed by its order id (so one order's events stay in one partition, in order)."""
        return cls(key=event.order_id.encode(), value=dump(event))


class Publisher(Protocol):
    """Sends records to the thread-events topic."""

    async def publish(self, records: Sequence[Outgoing]) -> None:
        """Send every record, in order, and return once the broker acknowledged all of them.

        Raises ``TopicMismatch`` (sending nothing) if the topic is missing or has other partitions.
        """
        ...

    async def verify(self) -> None:
        """Raise ``TopicMismatch`` if the topic is missing or has another partition count than configured."""
        ...

    async def holds_nothing(self) -> bool:
        """True if the topic has never held a record (just created: a wiped broker's, or a new one)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@dataclass
class KafkaPublisher:
    """Publisher on an aiokafka producer, (re)connected lazily so a broker outage can be retried."""

    settings: KafkaSettings
    topic: str = THREAD_EVENTS
    _producer: AIOKafkaProducer | None = field(default=None, init=False)
    _probe: KafkaTopicProbe = field(init=False)
    _check: TopicCheck = field(init=False)

    def __post_init__(self) -> None:
        self._probe = KafkaTopicProbe(self.settings)
        self._check = TopicCheck({self.topic: self.settings.topic_partitions}, self._probe)

    async def _connected(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(**self.settings.producer_kwargs(), linger_ms=0, request_timeout_ms=10_000)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
            self._probe.client = producer.client  # the check rides on the producer's own connection
        return self._producer

    async def verify(self) -> None:
        """Ask the broker (creating nothing) whether the topic exists with the configured partitions."""
        try:
            await self._connected()
            await self._check.verify()
            if self._check.error is not None:
                raise ConnectionError(f"cannot check topic {self.topic}: {self._check.error}")
        except BaseException:
            await self.close()  # a producer that saw the topic go keeps stale metadata: start afresh
            raise

    async def holds_nothing(self) -> bool:
        """True if every partition's end offset is 0."""
        total = await self._probe.end_offsets_total(self.topic, self.settings.topic_partitions)
        return total == 0

    async def publish(self, records: Sequence[Outgoing]) -> None:
        """Check the topic, send all, then wait for every acknowledgement; on failure drop the connection and raise."""
        await self.verify()
        try:
            producer = await self._connected()
            pending = [await producer.send(self.topic, r.value, key=r.key) for r in records]
            await asyncio.gather(*pending)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop the producer, if any."""
        producer, self._producer = self._producer, None
        self._probe.client = None
        if producer is not None:
            await producer.stop()


@dataclass
class RecordingPublisher:
    """Publisher fake that keeps what it was given (and can be told to fail), for unit tests."""

    sent: list[Outgoing] = field(default_factory=list)
    failures_left: int = 0
    problem: str | None = None
    wiped: bool = False

    def wipe(self, problem: str = "topic ordertalk.thread-events.v1 is missing") -> None:
        """Act as a broker that lost the topic: nothing kept, and ``problem`` until ``restore``."""
        self.sent.clear()
        self.problem, self.wiped = problem, True

    def restore(self) -> None:
        """The topic is back (empty)."""
        self.problem = None

    async def verify(self) -> None:
        """Raise ``TopicMismatch`` while ``problem`` is set."""
        if self.problem is not None:
            raise TopicMismatch({THREAD_EVENTS: self.problem})

    async def holds_nothing(self) -> bool:
        """True if the topic was wiped and nothing was kept since (a fresh fake models a topic that has its past)."""
        return self.wiped and not self.sent

    async def publish(self, records: Sequence[Outgoing]) -> None:
        """Keep the records, or fail while ``failures_left`` > 0 (or the topic is ``wipe``d)."""
        await self.verify()
        if self.failures_left > 0:
            self.failures_left -= 1
            raise ConnectionError("broker unavailable (fake)")
        self.sent.extend(records)

    async def close(self) -> None:
        """Nothing to release."""
