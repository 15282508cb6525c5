"""The consumer runtime under FastStream's TestKafkaBroker: poison and failing events put aside, the rest handled."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from ordertalk_contracts import IntegrationEvent, parse
from ordertalk_contracts.topics import DEAD_LETTERS
from ordertalk_runtime.consumer import Consumer, ConsumerConfig, Record
from ordertalk_runtime.kafka import KafkaSettings

GOLDEN = Path(__file__).parents[2] / "contracts" / "golden" / "v1" / "OrderRegistered.json"


class Flaky(Exception):
    """A transient error the handler raises once."""


class RecordingHandler:
    """Handles events by remembering them; fails for good on one event id, transiently once on the first batch."""

    def __init__(self, poison_id: str | None = None) -> None:
        self.poison_id = poison_id
        self.handled: list[str] = []
        self.flushed: list[list[str]] = []
        self.resets = 0
        self.flaky_left = 1

    def decode(self, record: Record) -> IntegrationEvent:
        """Parse the contract; ContractError for anything else."""
        return parse(record.value)

    async def handle(self, events: Sequence[IntegrationEvent]) -> list[str] | None:
        """Fail transiently once, for good on the poison id; else stage the ids."""
        if self.flaky_left:
            self.flaky_left -= 1
            raise Flaky("once")
        ids = [str(e.event_id) for e in events]
        if self.poison_id in ids:
            raise ValueError("this event breaks the handler")
        return ids

    async def flush(self, staged: Sequence[list[str]]) -> None:
        """Remember what was written, in order."""
        for ids in staged:
            self.handled += ids
        self.flushed.append([i for ids in staged for i in ids])

    def reset(self) -> None:
        """Count resets."""
        self.resets += 1


def events(n: int) -> list[dict[str, Any]]:
    """``n`` distinct, valid OrderRegistered documents."""
    base = json.loads(GOLDEN.read_text())
    out = []
    for i in range(n):
        doc = dict(base)
        doc["event_id"] = f"00000000-0000-4000-8000-{i:012d}"
        out.append(doc)
    return out


async def test_poison_and_a_failing_event_go_to_dead_letters_and_the_rest_is_handled() -> None:
    docs = events(5)
    handler = RecordingHandler(poison_id=docs[2]["event_id"])
    broker = KafkaBroker()
    consumer = Consumer(
        ConsumerConfig(name="test", group_id="g-test", topics=("orders",)), KafkaSettings(), handler, (Flaky,)
    )
    consumer.attach(broker)
    letters: list[tuple[bytes, dict[str, str]]] = []

    @broker.subscriber(DEAD_LETTERS)
    async def dead(message: KafkaMessage) -> None:
        letters.append((message.body, dict(message.headers)))

    async with TestKafkaBroker(broker) as test_broker, consumer.working():
        await test_broker.publish_batch(*(json.dumps(d).encode() for d in docs), b"not json", topic="orders")
        await asyncio.wait_for(consumer.settled(), 5)

    assert handler.handled == [d["event_id"] for i, d in enumerate(docs) if i != 2]
    reasons = sorted(h["dlq.reason"].split(":")[0] for _, h in letters)
    assert len(letters) == 2, letters
    assert any("handler failed" in h["dlq.reason"] for _, h in letters)
    assert any(body == b"not json" for body, _ in letters), reasons
    assert consumer.dead_lettered == 2
    assert consumer.handled == 4


class Polls:
    """An aiokafka consumer's ``getmany`` answering the polls given, and recording the calls."""

    def __init__(self, *answers: dict[str, list[str]]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[int, int | None]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int | None) -> dict[str, list[str]]:
        """The next answer."""
        self.calls.append((timeout_ms, max_records))
        return self.answers.pop(0)


def test_the_subscriber_hands_over_each_poll_and_never_sleeps_after_an_empty_one(monkeypatch: Any) -> None:
    async def no_sleep(seconds: float) -> None:
        raise AssertionError(f"the subscriber slept {seconds}s after a poll")

    monkeypatch.setattr("faststream.kafka.subscriber.usecase.anyio.sleep", no_sleep)
    consumer = Consumer(ConsumerConfig("c", "g", ("t",), max_records=7), KafkaSettings(), RecordingHandler(), ())
    broker = KafkaBroker("localhost:9092")
    consumer.attach(broker)
    [subscriber] = broker.subscribers
    polls = Polls({}, {"p0": ["a", "b"], "p1": ["c"]})

    async def two_polls() -> list[tuple[Any, ...]]:
        return [await subscriber.get_msg(polls), await subscriber.get_msg(polls)]  # type: ignore[attr-defined]

    assert asyncio.run(two_polls()) == [(), ("a", "b", "c")]
    assert polls.calls == [(500, 7), (500, 7)]
