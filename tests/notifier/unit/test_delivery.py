"""Outbox delivery: retries with backoff, permanent rejections recorded, each entry sent once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from ordertalk_notifier.delivery import Backoff, OutboxSender
from ordertalk_notifier.fakes import InMemoryOutbox, RecordingMailer
from ordertalk_notifier.handling import utc_now
from ordertalk_notifier.ports import OutboxEntry


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def entry(key: str, recipient: str, now: datetime) -> OutboxEntry:
    return OutboxEntry(key, "e", "o", "message", recipient, "n@x.example", "s", {"text": "body"}, now)


async def wait_until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Let the event loop run until ``condition()`` holds; AssertionError after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


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


async def test_an_outage_holds_the_batch_and_the_first_answer_of_the_server_sends_it_without_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, outbox, mailer = Clock(), InMemoryOutbox(), RecordingMailer()
    sender = OutboxSender(outbox, mailer, render, Backoff(5.0, 60.0), clock=clock, claim_batch=10)
    await outbox.add([entry(f"k{n}", f"{n}@x.example", clock.now) for n in range(3)])
    mailer.down = True
    with caplog.at_level(logging.INFO, logger="ordertalk_notifier"):
        assert await sender.drain() == 1
        assert sender.watch.down and mailer.sent == []
        assert all(e.last_error and e.next_attempt_at == clock.now for e in outbox.entries.values())
        assert sorted(e.attempts for e in outbox.entries.values()) == [0, 0, 1]  # only the one tried counts
        assert await sender.drain() == 0  # nobody takes e-mails while the server is known to be down
        assert not await sender.probe()
        mailer.down = False
        assert await sender.probe()
        assert not sender.watch.down
        assert await sender.drain() == 3  # at once: no row waits out a backoff
    assert [m for _, _, m in mailer.sent] == [b"body", b"body", b"body"]
    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == [logging.WARNING, logging.WARNING]
    assert "unavailable" in lines[0][1] and "answers again" in lines[1][1]


async def test_a_recipients_temporary_refusal_backs_off_that_row_only() -> None:
    clock, outbox, mailer = Clock(), InMemoryOutbox(), RecordingMailer()
    sender = OutboxSender(outbox, mailer, render, Backoff(5.0, 60.0), clock=clock, claim_batch=10)
    await outbox.add([entry(f"k{n}", f"{n}@x.example", clock.now) for n in range(3)])
    mailer.transient_failures["0@x.example"] = 1
    assert await sender.drain() == 3
    assert sorted(r for _, r, _ in mailer.sent) == ["1@x.example", "2@x.example"] and not sender.watch.down
    assert outbox.entries["k0"].next_attempt_at == clock.now + timedelta(seconds=5)


async def test_senders_pause_during_an_outage_probe_and_drain_the_backlog_when_the_server_answers() -> None:
    outbox, mailer = InMemoryOutbox(), RecordingMailer()
    sender = OutboxSender(outbox, mailer, render, Backoff(60.0, 60.0), workers=3, poll_seconds=30, probe_seconds=0.02)
    mailer.down = True
    await outbox.add([entry(f"k{n}", f"{n}@x.example", utc_now()) for n in range(40)])
    running = asyncio.create_task(sender.run())
    try:
        sender.offer([f"k{n}" for n in range(40)])
        await wait_until(lambda: sender.watch.down and mailer.probes >= 3)
        assert mailer.sent == []
        mailer.down = False
        await wait_until(lambda: len(mailer.sent) == 40)  # long before any row's 60 s backoff or the 30 s poll
        assert not sender.watch.down and await outbox.count("sent") == 40
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


def slow_marks(outbox: InMemoryOutbox) -> tuple[asyncio.Event, list[list[str]]]:
    """Make every mark write wait for the returned event (a database that does not answer yet)."""
    landed, writes = asyncio.Event(), []
    mark = outbox.mark_sent_many

    async def slow(keys: list[str], now: datetime) -> None:
        writes.append(list(keys))
        await landed.wait()
        await mark(keys, now)

    outbox.mark_sent_many = slow  # type: ignore[method-assign]
    return landed, writes


@pytest.mark.parametrize("limit", [1, 2, 5])
async def test_no_more_than_max_unmarked_emails_are_sent_before_their_marks_land(limit: int) -> None:
    clock, outbox, mailer = Clock(), InMemoryOutbox(), RecordingMailer()
    landed, _ = slow_marks(outbox)
    sender = OutboxSender(outbox, mailer, render, clock=clock, claim_batch=50, max_unmarked=limit)
    await outbox.add([entry(f"k{n}", f"{n}@x.example", clock.now) for n in range(20)])
    draining = asyncio.create_task(sender.drain())
    for _ in range(50):
        await asyncio.sleep(0)
    assert len(mailer.sent) == limit  # what a crash now would send again
    landed.set()
    assert await draining == 20
    assert await outbox.count("sent") == 20


async def test_a_batch_stops_sending_before_its_lease_runs_out() -> None:
    clock, outbox, mailer = Clock(), InMemoryOutbox(), RecordingMailer()
    send = mailer.send

    async def slow(sender: str, recipient: str, message: bytes) -> None:
        clock.now += timedelta(seconds=4)
        await send(sender, recipient, message)

    mailer.send = slow  # type: ignore[method-assign]
    sender = OutboxSender(outbox, mailer, render, clock=clock, claim_batch=10, lease_seconds=20)
    await outbox.add([entry(f"k{n}", f"{n}@x.example", clock.now) for n in range(6)])
    [*batch] = await outbox.claim_due(clock.now, 20, 10)
    assert await sender.deliver_batch(batch) == 3  # 12 s of the 20 s lease gone: the other 3 go back, unsent
    assert len(mailer.sent) == 3 and await outbox.count("sent") == 3
    assert all(outbox.entries[f"k{n}"].next_attempt_at == clock.now for n in range(3, 6))
    assert [outbox.entries[f"k{n}"].attempts for n in range(6)] == [1, 1, 1, 0, 0, 0]  # untried: no attempt


async def test_sent_marks_are_grouped_while_a_write_is_in_flight() -> None:
    clock, outbox, mailer = Clock(), InMemoryOutbox(), RecordingMailer()
    writes: list[list[str]] = []
    mark = outbox.mark_sent_many
    unmarked: list[int] = []

    async def recording(keys: list[str], now: datetime) -> None:
        writes.append(list(keys))
        for _ in range(3):  # a write takes a few turns of the loop, as over a network
            await asyncio.sleep(0)
        await mark(keys, now)

    async def counting(sender: str, recipient: str, message: bytes) -> None:
        unmarked.append(len(mailer.sent) + 1 - await outbox.count("sent"))
        await send(sender, recipient, message)

    send = mailer.send
    outbox.mark_sent_many = recording  # type: ignore[method-assign]
    mailer.send = counting  # type: ignore[method-assign]
    sender = OutboxSender(outbox, mailer, render, clock=clock, claim_batch=50, max_unmarked=10)
    await outbox.add([entry(f"k{n}", f"{n}@x.example", clock.now) for n in range(20)])
    assert await sender.drain() == 20
    assert len(mailer.sent) == 20 and await outbox.count("sent") == 20
    assert sorted(k for w in writes for k in w) == sorted(f"k{n}" for n in range(20))
    assert len(writes) < 20
    assert max(unmarked) <= 10
