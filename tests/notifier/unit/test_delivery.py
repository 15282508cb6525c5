"""Outbox delivery: retries with backoff, permanent rejections recorded, each entry sent once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from ordertalk_notifier.delivery import Backoff, OutboxSender
from ordertalk_notifier.fakes import InMemoryOutbox, RecordingMailer
from ordertalk_notifier.ports import OutboxEntry


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def entry(key: str, recipient: str, now: datetime) -> OutboxEntry:
    return OutboxEntry(key, "e", "o", "message", recipient, "n@x.example", "s", {"text": "body"}, now)


def render(entry: OutboxEntry) -> bytes:
    return str(entry.payload["text"]).encode()


def test_backoff_grows_and_is_capped() -> None:
    b = Backoff(1.0, 10.0)
    assert [b.delay(n) for n in (1, 2, 3, 4, 5, 6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


async def test_transient_failures_are_retried_after_the_backoff_then_sent_once() -> None:
    clock, outbox, mailer = Clock(), InMemoryOutbox(), RecordingMailer()
    sender = OutboxSender(outbox, mailer, render, Backoff(1.0, 60.0), clock=clock, claim_batch=1)
    await outbox.add([entry("k1", "a@x.example", clock.now), entry("k2", "b@x.example", clock.now)])
    mailer.transient_failures["a@x.example"] = 2
    assert await sender.drain() == 2
    assert [r for _, r, _ in mailer.sent] == ["b@x.example"]
    assert await sender.drain() == 0  # not due yet
    clock.now += timedelta(seconds=1)
    assert await sender.drain() == 1  # second failure, next in 2 s
    clock.now += timedelta(seconds=1)
    assert await sender.drain() == 0
    clock.now += timedelta(seconds=1)
    assert await sender.drain() == 1
    assert sorted(r for _, r, _ in mailer.sent) == ["a@x.example", "b@x.example"]
    assert await outbox.count("sent") == 2 and await outbox.count("pending") == 0
    clock.now += timedelta(hours=1)
    assert await sender.drain() == 0


async def test_a_permanent_rejection_is_recorded_and_not_retried() -> None:
    clock, outbox, mailer = Clock(), InMemoryOutbox(), RecordingMailer()
    sender = OutboxSender(outbox, mailer, render, clock=clock)
    mailer.rejected.add("gone@x.example")
    await outbox.add([entry("k1", "gone@x.example", clock.now)])
    assert await sender.drain() == 1
    [failed] = await outbox.failed()
    assert failed.key == "k1" and failed.last_error is not None and "550" in failed.last_error
    clock.now += timedelta(days=1)
    assert await sender.drain() == 0
    assert mailer.sent == []


async def test_an_outage_defers_the_rest_of_the_claimed_batch() -> None:
    clock, outbox, mailer = Clock(), InMemoryOutbox(), RecordingMailer()
    sender = OutboxSender(outbox, mailer, render, Backoff(5.0, 60.0), clock=clock, claim_batch=10)
    await outbox.add([entry(f"k{n}", f"{n}@x.example", clock.now) for n in range(3)])
    mailer.transient_failures["0@x.example"] = 1
    assert await sender.drain() == 1
    assert mailer.sent == [] and all(e.last_error for e in outbox.entries.values())
    clock.now += timedelta(seconds=5)
    assert await sender.drain() == 3
    assert [m for _, _, m in mailer.sent] == [b"body", b"body", b"body"]


async def test_sent_marks_are_grouped_while_a_write_is_in_flight() -> None:
    clock, outbox, mailer = Clock(), InMemoryOutbox(), RecordingMailer()
    writes: list[list[str]] = []
    mark = outbox.mark_sent_many

    async def recording(keys: list[str], now: datetime) -> None:
        writes.append(list(keys))
        for _ in range(3):  # a write takes a few turns of the loop, as over a network
            await asyncio.sleep(0)
        await mark(keys, now)

    outbox.mark_sent_many = recording  # type: ignore[method-assign]
    sender = OutboxSender(outbox, mailer, render, clock=clock, claim_batch=50)
    await outbox.add([entry(f"k{n}", f"{n}@x.example", clock.now) for n in range(20)])
    assert await sender.drain() == 20
    assert len(mailer.sent) == 20 and await outbox.count("sent") == 20
    assert sorted(k for w in writes for k in w) == sorted(f"k{n}" for n in range(20))
    assert len(writes) < 20
