"""Re-publish a range of stored events to the thread-events topic, showing progress."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio.to_thread
from eventsourcing.persistence import Notification

from ordertalk_contracts import ThreadEvent
from ordertalk_messaging.adapters.publishing import Outgoing, Publisher
from ordertalk_messaging.adapters.relay import NotificationSource


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a replay got."""

    done: int
    total: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Events per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float:
        """Seconds left at the current rate."""
        return (self.total - self.done) / self.rate if self.rate > 0 else 0.0

    def line(self) -> str:
        """A one-line progress report."""
        return f"{self.done}/{self.total} events  {self.rate:,.0f}/s  ETA {self.eta:,.1f}s"


async def replay_range(
    source: NotificationSource,
    translate: Callable[[Notification], ThreadEvent],
    publisher: Publisher,
    first: int,
    last: int,
    report: Callable[[Progress], None],
    batch_size: int = 500,
) -> int:
    """Publish the stored events with positions ``first``..``last`` (inclusive), in store order."""
    total = max(0, last - first + 1)
    started, done, position = time.monotonic(), 0, first - 1
    while position < last:
        batch = [n for n in await anyio.to_thread.run_sync(source.after, position, batch_size) if n.id <= last]
        if not batch:
            break
        await publisher.publish([Outgoing.of(translate(n)) for n in batch])
        done += len(batch)
        position = batch[-1].id
        report(Progress(done, total, time.monotonic() - started))
    await publisher.close()
    report(Progress(done, done, time.monotonic() - started))
    return done
