"""Puts a message a consumer cannot handle aside, on the dead-letter topic, with the reason."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from ordertalk_contracts.topics import DEAD_LETTERS
from ordertalk_runtime.metrics import DEAD_LETTERS as DEAD_LETTERS_COUNTER

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One message put aside: where it came from and why."""

    value: bytes
    key: bytes | None
    source_topic: str
    source_partition: int
    source_offset: int
    consumer_group: str
    reason: str

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers that carry the provenance and the reason."""
        return [
            ("dlq.reason", self.reason[:2000].encode()),
            ("dlq.source.topic", self.source_topic.encode()),
            ("dlq.source.partition", str(self.source_partition).encode()),
            ("dlq.source.offset", str(self.source_offset).encode()),
            ("dlq.consumer.group", self.consumer_group.encode()),
        ]


class KafkaSender(Protocol):
    """The part of a producer needed to send a dead letter."""

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = ...,
        key: bytes | None = ...,
        *,
        headers: list[tuple[str, bytes]] | None = ...,
    ) -> object: ...


async def send_dead_letter(producer: KafkaSender, letter: DeadLetter, topic: str = DEAD_LETTERS) -> None:
    """Publish the letter and wait for the broker's acknowledgement."""
    await producer.send_and_wait(topic, letter.value, letter.key, headers=letter.headers())


async def put_aside(producer: KafkaSender, record: Any, consumer_group: str, reason: str) -> DeadLetter:
    """Dead-letter a consumed aiokafka record: send it with its provenance, count it, log it."""
    letter = DeadLetter(
        value=record.value or b"",
        key=record.key,
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        consumer_group=consumer_group,
        reason=reason,
    )
    await send_dead_letter(producer, letter)
    DEAD_LETTERS_COUNTER.labels(consumer_group).inc()
    log.warning("dead-lettered %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason)
    return letter
