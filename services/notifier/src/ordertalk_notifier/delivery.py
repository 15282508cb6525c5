"""Outbox delivery: senders claim due pending e-mails, send them, mark them sent, retry or fail them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from ordertalk_notifier.handling import Clock, utc_now
from ordertalk_notifier.ports import Mailer, Outbox, OutboxEntry, PermanentMailError, TransientMailError
from ordertalk_runtime.metrics import EMAILS

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff between attempts of one e-mail."""

    initial_seconds: float = 1.0
    max_seconds: float = 60.0

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt."""
        return float(min(self.max_seconds, self.initial_seconds * 2.0 ** max(0, attempts - 1)))


@dataclass
class SentMarks:
    """Marks sent e-mails in group writes: one write in flight at a time, carrying every e-mail sent meanwhile.

    Sending goes on during the write, so an e-mail costs no MongoDB round trip of its own; a crash may resend the
    e-mails sent since the last completed write (same Message-ID), as the lease expires.
    """

    outbox: Outbox
    clock: Clock
    _waiting: list[str] = field(default_factory=list)
    _write: asyncio.Task[None] | None = None

    def add(self, key: str) -> None:
        """``key`` was accepted by the mail server."""
        self._waiting.append(key)
        if self._write is None or self._write.done():
            self._start()

    def _start(self) -> None:
        if self._write is not None:
            self._write.result()  # a failed write: the sender stops, the rows come back after the lease
        keys, self._waiting = self._waiting, []
        self._write = asyncio.create_task(self.outbox.mark_sent_many(keys, self.clock()))

    async def flush(self) -> None:
        """Wait until every key added is marked sent."""
        while self._write is not None:
            write, self._write = self._write, None
            await write
            if self._waiting:
                self._start()


@dataclass
class OutboxSender:
    """Delivers pending outbox entries with ``workers`` concurrent senders; woken at once by new entries."""

    outbox: Outbox
    mailer: Mailer
    render: Callable[[OutboxEntry], bytes]
    backoff: Backoff = field(default_factory=Backoff)
    workers: int = 4
    poll_seconds: float = 1.0
    lease_seconds: float = 60.0
    claim_batch: int = 50
    clock: Clock = utc_now
    busy_loop_seconds: float = 0.002
    busy_pause_seconds: float = 0.02
    max_pauses: int = 10
    _fresh: asyncio.Queue[str] = field(default_factory=asyncio.Queue, init=False)

    def offer(self, keys: list[str]) -> None:
        """Entries were just recorded: send them now (by key) rather than at the next poll."""
        for key in keys:
            self._fresh.put_nowait(key)

    async def deliver(self, entry: OutboxEntry, marks: SentMarks | None = None) -> str:
        """Send one claimed entry and record the outcome: "sent", "retry" or "failed" (``marks`` groups "sent")."""
        try:
            message = self.render(entry)  # the light path takes well under a millisecond: no thread hop
        except Exception as exc:  # a row that cannot be rendered will never be: record it, do not retry
            log.exception("e-mail %s cannot be rendered", entry.key)
            await self.outbox.mark_failed(entry.key, f"cannot render: {exc}"[:1000], self.clock())
            EMAILS.labels("failed").inc()
            return "failed"
        try:
            await self.mailer.send(entry.sender, entry.recipient, message)
        except PermanentMailError as exc:
            log.warning("e-mail %s to %s rejected for good: %s", entry.key, entry.recipient, exc)
            await self.outbox.mark_failed(entry.key, str(exc)[:1000], self.clock())
            EMAILS.labels("failed").inc()
            return "failed"
        except TransientMailError as exc:
            delay = self.backoff.delay(entry.attempts)
            log.info("e-mail %s to %s not sent (%s); retry in %.1fs", entry.key, entry.recipient, exc, delay)
            await self.outbox.mark_retry(entry.key, str(exc)[:1000], self.clock() + timedelta(seconds=delay))
            EMAILS.labels("retry").inc()
            return "retry"
        if marks is None:
            await self.outbox.mark_sent_many([entry.key], self.clock())
        else:
            marks.add(entry.key)
        EMAILS.labels("sent").inc()
        return "sent"

    async def deliver_batch(self, batch: list[OutboxEntry]) -> int:
        """Deliver claimed entries in order; after an outage-like failure the rest wait for the same backoff."""
        marks = SentMarks(self.outbox, self.clock)
        try:
            for n, entry in enumerate(batch):
                if await self.deliver(entry, marks) == "retry":
                    retry_at = self.clock() + timedelta(seconds=self.backoff.delay(entry.attempts))
                    for rest in batch[n + 1 :]:
                        await self.outbox.mark_retry(rest.key, "not tried: mail server unavailable", retry_at)
                    return n + 1
                await self._make_way()
            return len(batch)
        finally:
            await marks.flush()

    async def _make_way(self) -> None:
        """Between e-mails: yield the loop, and while it is busy (the other work took longer than
        ``busy_loop_seconds`` to run), pause, so the consumer and the bell alerts go first. E-mails wait in the
        outbox meanwhile; the pauses are bounded, so they keep moving under any load."""
        loop = asyncio.get_running_loop()
        for _ in range(self.max_pauses):
            started = loop.time()
            await asyncio.sleep(0)
            if loop.time() - started < self.busy_loop_seconds:
                return
            await asyncio.sleep(self.busy_pause_seconds)

    async def drain(self) -> int:
        """Deliver due entries (retries, entries left by a crash) until none is due; answer how many were tried."""
        attempted = 0
        while batch := await self.outbox.claim_due(self.clock(), self.lease_seconds, self.claim_batch):
            attempted += await self.deliver_batch(batch)
        return attempted

    async def _send_fresh(self, first: str) -> None:
        keys = [first]
        while len(keys) < self.claim_batch and not self._fresh.empty():
            keys.append(self._fresh.get_nowait())
        await self.deliver_batch(await self.outbox.claim(keys, self.clock(), self.lease_seconds))

    async def _worker(self, polls: bool) -> None:
        """Send fresh entries as offered; the one polling worker also looks for due rows every ``poll_seconds``
        (one query, not one per worker: on a large outbox that query is the costly one)."""
        next_poll = 0.0 if polls else float("inf")
        loop = asyncio.get_running_loop()
        while True:
            try:
                timeout = None if not polls else max(0.0, next_poll - loop.time())
                key = await asyncio.wait_for(self._fresh.get(), timeout)
            except TimeoutError:
                key = None
            try:
                if key is not None:
                    await self._send_fresh(key)
                else:
                    await self.drain()
                    next_poll = loop.time() + self.poll_seconds
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox sender failed; the entries stay pending")
                if polls:
                    next_poll = loop.time() + self.poll_seconds

    async def run(self) -> None:
        """Run the senders until cancelled."""
        async with asyncio.TaskGroup() as group:
            for n in range(self.workers):
                group.create_task(self._worker(polls=n == 0))
