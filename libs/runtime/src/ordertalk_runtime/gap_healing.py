"""Gap healing off the event path, for every read side: fetch the versions parked threads miss from the event feed.

Kafka fills most gaps by itself (a redelivery, the next event); this pass fills the others from the messaging
service's feed, and applies the held-back events the store now vouches for. Each read side supplies a
HealingTarget (where its parked threads are, how it applies events); the feed reading is the same for all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ordertalk_contracts import ThreadEvent
from ordertalk_runtime.event_feed import EventFeed
from ordertalk_runtime.vouching import NEVER_STARTED, Voucher, report_untrusted

log = logging.getLogger(__name__)
PAGE = 500
MAX_PAGES = 200


@dataclass(frozen=True, slots=True)
class Waiting:
    """A thread that waits for missing events: the position of its last applied event, its earliest parked one."""

    applied_position: int
    parked_position: int
    started: bool = True  # False: no event of it is applied (its version 1 is missing or is not ThreadStarted)


class HealingTarget(Protocol):
    """What a read side lends the healing pass."""

    async def waiting_threads(self) -> Mapping[str, Waiting]:
        """Every thread with parked events, by order id."""
        ...

    async def apply_healed(self, events: list[ThreadEvent]) -> int:
        """Apply events found in the store (as a redelivery would be applied); answers how many were applied."""
        ...

    async def set_aside(self, order_ids: list[str]) -> list[ThreadEvent]:
        """Put aside the parked events of threads the store has never heard of (not written by it); answer them."""
        ...


@dataclass
class HealingPass:
    """One healing pass: feed pages for the waiting threads, then the held events the store vouches for now."""

    target: HealingTarget
    feed: EventFeed
    voucher: Voucher | None = None
    consumer: str = "read-side"
    healed: int = 0

    async def heal_once(self) -> int:
        """Heal what can be healed now; answers how many events were applied."""
        applied = await self._fill_gaps()
        if self.voucher is not None:
            vouched = await self.voucher.recheck()
            if vouched:
                applied += await self.target.apply_healed(vouched)
                await self.voucher.release(vouched)
        self.healed += applied
        return applied

    async def _fill_gaps(self) -> int:
        waiting = dict(await self.target.waiting_threads())
        if not waiting:
            return 0
        after = min(w.applied_position for w in waiting.values())
        until = max(w.parked_position for w in waiting.values())
        found: list[ThreadEvent] = []
        seen: set[str] = set()
        covered = after
        for _ in range(MAX_PAGES):
            page = await self.feed.read(after, PAGE)
            for event in page.events:
                if isinstance(event, ThreadEvent) and event.order_id in waiting:
                    found.append(event)
                    seen.add(event.order_id)
            covered = max(covered, page.last_position)
            if not page.events or page.last_position >= until or page.last_position <= after:
                break
            after = page.last_position
        # A thread never started whose events the store does not know, read from its start up to them: not the store's.
        ghosts = sorted(
            oid for oid, w in waiting.items() if not w.started and oid not in seen and covered >= w.parked_position
        )
        if ghosts:
            report_untrusted(
                self.consumer, await self.target.set_aside(ghosts), NEVER_STARTED, "the event store never started them"
            )
        if not found:
            return 0
        applied = await self.target.apply_healed(found)
        log.info("healed %d events of %d waiting threads from the feed", applied, len(waiting))
        return applied


async def run_every(stop: asyncio.Event, every: float, heal: Callable[[], Awaitable[int]]) -> None:
    """Call ``heal`` every ``every`` seconds until ``stop`` is set; errors are logged and retried next time."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        if stop.is_set():
            return
        try:
            await heal()
        except Exception:
            log.exception("gap healing failed; will retry")
