"""Inspect the dead-letter topic and re-drive its messages to where they came from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from ordertalk_contracts.topics import DEAD_LETTERS
from ordertalk_runtime.kafka import KafkaSettings
from ordertalk_runtime.offsets import read_topic


@dataclass(frozen=True, slots=True)
class StoredDeadLetter:
    """One message on the dead-letter topic, with its provenance headers."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def reason(self) -> str:
        """Why the consumer put it aside."""
        return self.headers.get("dlq.reason", "")

    @property
    def source_topic(self) -> str:
        """The topic the message was first consumed from."""
        return self.headers.get("dlq.source.topic", "")


def decode_headers(headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]) -> dict[str, str]:
    """Kafka headers as text."""
    return {key: value.decode(errors="replace") for key, value in headers}


async def read_dead_letters(settings: KafkaSettings, topic: str = DEAD_LETTERS) -> AsyncIterator[StoredDeadLetter]:
    """Every message now on the dead-letter topic, without joining a consumer group."""
    async for record in read_topic(settings, topic):
        yield StoredDeadLetter(
            record.partition, record.offset, record.key, record.value, decode_headers(record.headers)
        )


async def redrive(settings: KafkaSettings, letters: list[StoredDeadLetter]) -> int:
    """Publish each letter back to its source topic with its key; returns how many were sent."""
    producer = AIOKafkaProducer(**settings.producer_kwargs())
    await producer.start()
    try:
        for letter in letters:
            headers = [("dlq.redriven.from", f"{letter.partition}:{letter.offset}".encode())]
            await producer.send_and_wait(letter.source_topic, letter.value, letter.key, headers=headers)
        return len(letters)
    finally:
        await producer.stop()
