"""Thread events are trusted only as far as the event store vouches for them (one implementation, every read side).

An event whose ``position`` lies beyond the store's head was not written by the store (the relay publishes after
the commit, so a real event is never beyond the head for long): it is held back (not applied, not allowed to move
a read-your-writes watermark), reported (a WARNING and ``ordertalk_events_unvouched_total``), and checked again
later against the event the store holds at that position.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from ordertalk_contracts import ThreadEvent
from ordertalk_runtime.event_feed import EventFeed
from ordertalk_runtime.metrics import EVENTS_UNVOUCHED

log = logging.getLogger(__name__)
E = TypeVar("E", bound=ThreadEvent)
BEYOND_HEAD = "beyond_head"
REFUTED = "refuted"
NEVER_STARTED = "never_started"


class HeldEvents(Protocol):
    """Durable keeping of the events no store vouched for yet (idempotent, keyed by event id)."""

    async def hold(self, events: list[ThreadEvent]) -> None:
        """Keep these events until they are vouched for or refuted."""
        ...

    async def held(self, limit: int) -> list[ThreadEvent]:
        """Events held and not refuted, oldest position first."""
        ...

    async def release(self, event_ids: list[str]) -> None:
        """Forget these events (vouched for and applied)."""
        ...

    async def refute(self, event_ids: list[str]) -> None:
        """Keep these events aside for good (the store holds another event at their position)."""
        ...


class StoreProbe(Protocol):
    """What the event store holds at or after a position."""

    async def first_at_or_after(self, position: int) -> ThreadEvent | int | None:
        """The stored thread event at the first position >= ``position`` (an int: that position holds a non-thread
        event; None: the store's head is below ``position``)."""
        ...

    async def stored_ids(self, position: int, limit: int) -> tuple[dict[int, str], int, bool]:
        """The event ids the store holds from ``position`` on (up to ``limit`` events), by position; the last position
        read; and whether the store ends there (its head is below the next position)."""
        ...


@dataclass
class FeedProbe:
    """StoreProbe over the messaging event feed (one one-event page per question)."""

    feed: EventFeed

    async def first_at_or_after(self, position: int) -> ThreadEvent | int | None:
        """The feed's first event after ``position - 1``."""
        page = await self.feed.read(max(position - 1, 0), 1)
        if not page.events:
            return None
        first = page.events[0]
        return first if isinstance(first, ThreadEvent) else page.last_position

    async def stored_ids(self, position: int, limit: int) -> tuple[dict[int, str], int, bool]:
        """One feed page from ``position``: thread events' ids by position."""
        page = await self.feed.read(max(position - 1, 0), limit)
        ids = {e.position: str(e.event_id) for e in page.events if isinstance(e, ThreadEvent)}
        return ids, page.last_position, len(page.events) < limit


def reached(found: ThreadEvent | int | None) -> int:
    """The stored position a probe answer proves (0: none)."""
    if found is None:
        return 0
    return found.position if isinstance(found, ThreadEvent) else found


def report_untrusted(consumer: str, events: Sequence[ThreadEvent], reason: str, why: str) -> None:
    """Log a WARNING and count ``ordertalk_events_unvouched_total{consumer, reason}`` for events not trusted."""
    if not events:
        return
    EVENTS_UNVOUCHED.labels(consumer, reason).inc(len(events))
    sample = ", ".join(f"{e.event_type} {e.event_id} (order {e.order_id}, position {e.position})" for e in events[:3])
    log.warning("%s: %d thread event(s) not trusted, %s: %s", consumer, len(events), why, sample)


@dataclass
class Voucher:
    """Splits events into those within the store's head and those held back; re-checks the held ones."""

    probe: StoreProbe
    held: HeldEvents
    consumer: str
    head: int = 0  # the highest position the store is known to have reached
    unvouched: int = field(default=0, init=False)

    async def split(self, events: Sequence[E]) -> tuple[list[E], list[E]]:
        """(vouched, held back): the store's head is read again (once) when an event lies beyond the known head."""
        top = max((e.position for e in events), default=0)
        try:
            await self._read_head(events, top)
        except Exception as exc:  # the store cannot be asked now: what lies beyond the known head waits
            log.warning("%s: the event store's head could not be read (%s); holding newer events", self.consumer, exc)
        vouched = [e for e in events if e.position <= self.head]
        beyond = [e for e in events if e.position > self.head]
        if beyond:
            await self.held.hold(list(beyond))
            self.report(beyond, BEYOND_HEAD, f"beyond the event store's head {self.head}")
        return vouched, beyond

    async def _read_head(self, events: Sequence[ThreadEvent], top: int) -> None:
        if top > self.head:
            self.head = max(self.head, reached(await self.probe.first_at_or_after(top)))
        if top > self.head:  # some lie beyond the store's head: how far does it reach? (a binary search)
            unknown = sorted({e.position for e in events if e.position > self.head})
            lo, hi = 0, len(unknown) - 1  # unknown[hi] is known not to be reached
            while lo < hi:
                mid = (lo + hi) // 2
                found = reached(await self.probe.first_at_or_after(unknown[mid]))
                if found:
                    self.head = max(self.head, found)
                    lo = mid + 1
                else:
                    hi = mid

    def report(self, events: Sequence[ThreadEvent], reason: str, why: str) -> None:
        """A WARNING and the metric for events not trusted."""
        self.unvouched += len(events)
        report_untrusted(self.consumer, events, reason, why)

    async def recheck(self, limit: int = 1000) -> list[ThreadEvent]:
        """The held events the store now holds, the very same ones at their positions (apply them, then ``release``);
        those whose position the store holds another event at (or none, once past it) are set aside as refuted."""
        waiting = await self.held.held(limit)
        vouched: list[ThreadEvent] = []
        refuted: list[ThreadEvent] = []
        while waiting:
            ids, last, at_end = await self.probe.stored_ids(waiting[0].position, limit)
            self.head = max(self.head, last)
            covered = [e for e in waiting if e.position <= last]
            for event in covered:
                (vouched if ids.get(event.position) == str(event.event_id) else refuted).append(event)
            waiting = [e for e in waiting if e.position > last]
            if at_end or not covered:
                break  # the rest lie beyond the store's head
        if refuted:
            await self.held.refute([str(e.event_id) for e in refuted])
            self.report(refuted, REFUTED, "the event store holds another event (or none) at their positions")
        return vouched

    async def release(self, events: Sequence[ThreadEvent]) -> None:
        """Forget held events that are applied now."""
        if events:
            await self.held.release([str(e.event_id) for e in events])


@dataclass
class InMemoryHeldEvents:
    """HeldEvents in a dict (unit tests and tools)."""

    events: dict[str, ThreadEvent] = field(default_factory=dict)
    refuted: dict[str, ThreadEvent] = field(default_factory=dict)

    async def hold(self, events: list[ThreadEvent]) -> None:
        """Keep them by event id."""
        for event in events:
            if str(event.event_id) not in self.refuted:
                self.events[str(event.event_id)] = event

    async def held(self, limit: int) -> list[ThreadEvent]:
        """Oldest position first."""
        return sorted(self.events.values(), key=lambda e: e.position)[:limit]

    async def release(self, event_ids: list[str]) -> None:
        """Forget them."""
        for event_id in event_ids:
            self.events.pop(event_id, None)

    async def refute(self, event_ids: list[str]) -> None:
        """Set them aside."""
        for event_id in event_ids:
            if event_id in self.events:
                self.refuted[event_id] = self.events.pop(event_id)
