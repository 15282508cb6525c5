"""A rebuild at a filled store's size: the real ``Rebuilder`` reading generated events from an in-memory log.

The events are the fill's (``read_fill.thread_events``), interleaved across threads by time as a topic's
partitions would deliver them; only the log is in memory (instead of Kafka), the rest is the rebuild itself.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bench.read_fill import CUSTOMERS_PER_THREAD, thread_events
from tests.projections.scripts import Positions

from ordertalk_contracts import IntegrationEvent
from ordertalk_projections.application.ports import LogChunk


def events(threads: int, per_thread: int, seed: int = 18) -> list[IntegrationEvent]:
    """Every event of ``threads`` generated threads (their OrderRegistered first), in time order."""
    rng = random.Random(seed)
    positions = Positions()
    customers = [f"cust-{i:06d}" for i in range(max(1, int(threads * CUSTOMERS_PER_THREAD)))]
    out: list[IntegrationEvent] = []
    for _ in range(threads):
        placed, thread = thread_events(rng, positions, rng.choice(customers), per_thread)
        out += [placed, *thread]
    # A thread's own events keep their order (its clock only moves forward; its OrderRegistered is at its start).
    out.sort(key=lambda e: e.occurred_at)
    return out


class MemoryReader:
    """A ``LogReader`` over a list of events."""

    def __init__(self, log: list[IntegrationEvent], start: int) -> None:
        self.log, self.next, self.already_read, self.target = log, start, start, start

    async def set_target(self) -> int:
        """Read to the end of the list."""
        self.target = len(self.log)
        return self.target

    async def next_chunk(self, size: int) -> LogChunk | None:
        """The next ``size`` events up to the target."""
        if self.next >= self.target:
            return None
        chunk = self.log[self.next : min(self.target, self.next + size)]
        self.next += len(chunk)
        return LogChunk(chunk, len(chunk), 0, {"offset": self.next})


class MemoryLog:
    """An ``EventLog`` over a list of events (the rebuild's checkpoint is the list offset)."""

    def __init__(self, log: list[IntegrationEvent]) -> None:
        self.log = log

    @asynccontextmanager
    async def open(self, state: dict[str, Any], batch: int) -> AsyncIterator[MemoryReader]:
        """A reader at the saved offset."""
        yield MemoryReader(self.log, int(state.get("offset", 0)))
