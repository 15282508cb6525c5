"""Outbox delivery: senders claim due pending e-mails, send them, mark them sent, retry or fail them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, timedelta

from ordertalk_notifier.handling import Clock, utc_now
from ordertalk_notifier.outage import MailServerWatch
from ordertalk_notifier.ports import (
    Mailer,
    MailServerUnavailable,
    Outbox,
    OutboxEntry,
    PermanentMailError,
    TransientMailError,
)
from ordertalk_runtime.metrics import EMAILS
from ordertalk_runtime.retry import Backoff

__all__ = ["Backoff", "OutboxSender", "SentMarks"]

log = logging.getLogger(__name__)


@dataclass
class SentMarks:
    """Marks sent e-mails in group writes while sending goes on, with at most ``limit`` e-mails unmarked.

    An e-mail handed to the server counts as unmarked until the write that marks it sent has landed; before the
    next one is handed over, ``room`` waits until fewer than ``limit`` are. So a crash resends at most ``limit``
    e-mails of this sender (same Message-ID), whatever the database's latency: with a bound of 2 one e-mail is
    sent while the mark of the one before it is written, so a fast database costs no round trip per e-mail.
    """

    outbox: Outbox
    clock: Clock
    limit: int = 2
    _waiting: list[str] = field(default_factory=list)
    _writing: int = 0
    _write: asyncio.Task[None] | None = None

    @property
    def unmarked(self) -> int:
        """E-mails handed to the server whose mark has not landed yet."""
        return len(self._waiting) + self._writing

    async def room(self) -> None:
        """Wait until one more e-mail may be handed to the server (fewer than ``limit`` unmarked)."""
        while self._write is not None and (self._write.done() or self.unmarked + 1 > self.limit):
            await self._settle()

    def add(self, key: str) -> None:
        """``key`` was accepted by the mail server."""
        self._waiting.append(key)
        if self._write is None:
            self._start()

    def _start(self) -> None:
        keys, self._waiting = self._waiting, []
        self._writing = len(keys)
        self._write = asyncio.create_task(self.outbox.mark_sent_many(keys, self.clock()))

    async def _settle(self) -> None:
        """Wait for the write in flight (a failed write raises: the sender stops, the rows come back after the
        lease), then start the next one with every key added meanwhile."""
        write = self._write
        try:
            if write is not None:
                await write
        finally:
            self._write, self._writing = None, 0
        if self._waiting:
            self._start()

    async def flush(self) -> None:
        """Wait until every key added is marked sent (after a failed write, the keys added meanwhile too)."""
        while self._write is not None or self._waiting:
            if self._write is None:
                self._start()
            await self._settle()


@dataclass
class OutboxSender:
    """Delivers pending outbox entries with ``workers`` concurrent senders; woken at once by new entries.

    When a send finds the mail server unavailable (an outage, not one recipient's 4xx), every sender stops taking
    e-mails: the rows stay pending and due, and the polling sender probes the server every ``probe_seconds``
    instead of waiting out each row's backoff. The first answer ends the outage and every sender drains the backlog.
    """

    outbox: Outbox
    mailer: Mailer
    render: Callable[[OutboxEntry], bytes]
    backoff: Backoff = field(default_factory=lambda: Backoff(1.0, 60.0))  # no jitter: a row stores its due time
    workers: int = 4
    poll_seconds: float = 1.0
    lease_seconds: float = 60.0
    claim_batch: int = 50
    max_unmarked: int = 4
    probe_seconds: float = 1.0
    clock: Clock = utc_now
    busy_loop_seconds: float = 0.002
    busy_pause_seconds: float = 0.02
    max_pauses: int = 10
    watch: MailServerWatch = field(default_factory=MailServerWatch)
    _fresh: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue, init=False)

    def offer(self, keys: list[str]) -> None:
        """Entries were just recorded: send them now (by key) rather than at the next poll."""
        for key in keys:
            self._fresh.put_nowait(key)

    async def deliver(self, entry: OutboxEntry, marks: SentMarks | None = None) -> str:
        """Send one claimed entry and record the outcome: "sent", "retry", "held" (the server is unavailable:
        due again once it answers) or "failed" (``marks`` groups "sent")."""
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
        except MailServerUnavailable as exc:
            self.watch.went_down(str(exc))
            await self.outbox.mark_retry(entry.key, str(exc)[:1000], self.clock())
            EMAILS.labels("held").inc()
            return "held"
        except TransientMailError as exc:  # this message or recipient, not the server: this row backs off
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
        """Deliver claimed entries in order, at most ``max_unmarked`` sent and not yet marked at any time; when the
        server turns out unavailable, the rest are held (due again once it answers). Answers how many were tried."""
        marks = SentMarks(self.outbox, self.clock, self.max_unmarked)
        try:
            for n, entry in enumerate(batch):
                if self.watch.down:  # another sender found the server unavailable meanwhile
                    await self._hold(batch[n:], "not tried: mail server unavailable")
                    return n
                await marks.room()
                if self._lease_running_out(entry):  # sending waits for marks: a slow database slows the batch
                    await self._hold(batch[n:], "not tried before its lease ran out")
                    self.offer([e.key for e in batch[n:]])  # for the next free sender, at once
                    return n
                if await self.deliver(entry, marks) == "held":
                    await self._hold(batch[n + 1 :], "not tried: mail server unavailable")
                    return n + 1
                await self._make_way()
            return len(batch)
        finally:
            await marks.flush()

    def _lease_running_out(self, entry: OutboxEntry) -> bool:
        """Whether less than half the lease is left: past its end another sender may take the row and send it
        again, so the rest of the batch goes back rather than out."""
        lease_end = entry.next_attempt_at
        if lease_end is None:
            return False
        if lease_end.tzinfo is None:  # a MongoDB-wire server that answers times without their zone
            lease_end = lease_end.replace(tzinfo=UTC)
        return self.clock() > lease_end - timedelta(seconds=self.lease_seconds / 2)

    async def _hold(self, entries: list[OutboxEntry], reason: str) -> None:
        if entries:
            await self.outbox.release_untried([e.key for e in entries], reason, self.clock())

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
        """Deliver due entries (retries, entries left by a crash or an outage) until none is due or the server is
        unavailable; answer how many were tried."""
        attempted = 0
        while not self.watch.down and (
            batch := await self.outbox.claim_due(self.clock(), self.lease_seconds, self.claim_batch)
        ):
            attempted += await self.deliver_batch(batch)
        return attempted

    async def probe(self) -> bool:
        """During an outage: ask the server; on an answer end the outage and have every sender drain the rows
        held meanwhile. True when the server answers."""
        try:
            await self.mailer.probe()
        except TransientMailError as exc:
            log.debug("mail server still unavailable: %s", exc)
            return False
        self.watch.came_back()
        for _ in range(self.workers - 1):
            self._fresh.put_nowait(None)  # every other sender drains too; the polling one drains next
        return True

    async def _send_fresh(self, first: str) -> None:
        keys = [first]
        while len(keys) < self.claim_batch and not self._fresh.empty():
            key = self._fresh.get_nowait()
            if key is None:
                self._fresh.put_nowait(None)  # a request to drain: leave it for the next turn
                break
            keys.append(key)
        await self.deliver_batch(await self.outbox.claim(keys, self.clock(), self.lease_seconds))

    async def _worker(self, polls: bool) -> None:
        """Send fresh entries as offered; the one polling worker also looks for due rows every ``poll_seconds``
        (one query, not one per worker: on a large outbox that query is the costly one), and during an outage
        probes the server every ``probe_seconds`` instead. While the server is unavailable, offered keys are
        dropped: their rows are pending and due, and the drain after the outage takes them."""
        next_poll = 0.0 if polls else float("inf")
        loop = asyncio.get_running_loop()
        while True:
            poll = False
            try:
                timeout = None if not polls else max(0.0, next_poll - loop.time())
                key = await asyncio.wait_for(self._fresh.get(), timeout)
            except TimeoutError:
                key, poll = None, True
            try:
                if poll and self.watch.down:
                    if await self.probe():
                        await self.drain()
                    next_poll = loop.time() + (self.poll_seconds if not self.watch.down else self.probe_seconds)
                elif self.watch.down:
                    continue
                elif key is not None:
                    await self._send_fresh(key)
                else:
                    await self.drain()
                    if poll:
                        next_poll = loop.time() + self.poll_seconds
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox sender failed; the entries stay pending")
                if polls:
                    next_poll = loop.time() + self.poll_seconds
            if polls and self.watch.down:
                next_poll = min(next_poll, loop.time() + self.probe_seconds)

    async def run(self) -> None:
        """Run the senders until cancelled."""
        async with asyncio.TaskGroup() as group:
            for n in range(self.workers):
                group.create_task(self._worker(polls=n == 0))
