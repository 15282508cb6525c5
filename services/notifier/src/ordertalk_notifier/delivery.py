"""Outbox delivery: senders claim due pending e-mails, send them, mark them sent, retry or fail them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
class OutboxSender:
    """Delivers pending outbox entries with ``workers`` concurrent senders; woken at once by new entries."""

    outbox: Outbox
    mailer: Mailer
    backoff: Backoff = field(default_factory=Backoff)
    workers: int = 4
    poll_seconds: float = 1.0
    lease_seconds: float = 60.0
    clock: Clock = utc_now
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def wake(self) -> None:
        """New entries were recorded: look for them now rather than at the next poll."""
        self._wakeup.set()

    async def deliver(self, entry: OutboxEntry) -> str:
        """Send one claimed entry and record the outcome: "sent", "retry" or "failed"."""
        try:
            await self.mailer.send(entry.sender, entry.recipient, entry.message)
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
        await self.outbox.mark_sent(entry.key, self.clock())
        EMAILS.labels("sent").inc()
        return "sent"

    async def drain(self) -> int:
        """Deliver due entries until none is due; answer how many were attempted."""
        attempted = 0
        while (entry := await self.outbox.claim_due(self.clock(), self.lease_seconds)) is not None:
            await self.deliver(entry)
            attempted += 1
        return attempted

    async def _worker(self) -> None:
        while True:
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox sender failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.poll_seconds)
            self._wakeup.clear()

    async def run(self) -> None:
        """Run the senders until cancelled."""
        async with asyncio.TaskGroup() as group:
            for _ in range(self.workers):
                group.create_task(self._worker())
