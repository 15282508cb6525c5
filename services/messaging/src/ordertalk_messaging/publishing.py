"""Publisher port and its aiokafka adapter: send keyed records and wait until the broker has them all."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiokafka import AIOKafkaProducer

from ordertalk_contracts import THREAD_EVENTS, ThreadEvent, dump
from ordertalk_runtime.kafka import KafkaSettings


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
        """Send every record, in order, and return once the broker acknowledged all of them."""
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

    async def _connected(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(**self.settings.producer_kwargs(), linger_ms=0, request_timeout_ms=10_000)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def publish(self, records: Sequence[Outgoing]) -> None:
        """Send all, then wait for every acknowledgement; on failure drop the connection and raise."""
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
        if producer is not None:
            await producer.stop()


@dataclass
class RecordingPublisher:
    """Publisher fake that keeps what it was given (and can be told to fail), for unit tests."""

    sent: list[Outgoing] = field(default_factory=list)
    failures_left: int = 0

    async def publish(self, records: Sequence[Outgoing]) -> None:
        """Keep the records, or fail while ``failures_left`` > 0."""
        if self.failures_left > 0:
            self.failures_left -= 1
            raise ConnectionError("broker unavailable (fake)")
        self.sent.extend(records)

    async def close(self) -> None:
        """Nothing to release."""
