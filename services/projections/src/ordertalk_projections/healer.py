"""Gap healing off the event path: fetch the versions parked threads miss from the messaging event feed."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ordertalk_contracts import IntegrationEvent, ThreadEvent
from ordertalk_projections.applier import BatchApplier
from ordertalk_projections.feed import EventFeed
from ordertalk_projections.mongo_store import MongoReadModels

log = logging.getLogger(__name__)
PAGE = 500
MAX_PAGES = 200


class GapHealer:
    """Periodically fills version gaps of parked threads from the feed (Kafka fills most gaps by itself)."""

    def __init__(self, store: MongoReadModels, applier: BatchApplier, feed: EventFeed) -> None:
        self.store, self.applier, self.feed = store, applier, feed
        self.healed = 0

    async def heal_once(self) -> int:
        """One healing pass over every parked thread; answers how many events it applied."""
        gen = await self.store.active_generation()
        waiting = dict(await self.store.parked_threads(gen))
        if not waiting:
            return 0
        known = await self.store.load_threads(gen, waiting)
        after = min(known[o].state.position if o in known else 0 for o in waiting)
        until = max(waiting.values())
        found: list[IntegrationEvent] = []
        for _ in range(MAX_PAGES):
            page = await self.feed.read(after, PAGE)
            found += [e for e in page.events if isinstance(e, ThreadEvent) and e.order_id in waiting]
            if not page.events or page.last_position >= until or page.last_position <= after:
                break
            after = page.last_position
        if not found:
            return 0
        result = await self.applier.apply(gen, found)
        self.healed += result.applied
        log.info("healed %d events of %d waiting threads from the feed", result.applied, len(waiting))
        return result.applied

    async def run(self, stop: asyncio.Event, every: float) -> None:
        """Heal every ``every`` seconds until ``stop`` is set; feed errors are logged and retried."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if stop.is_set():
                return
            try:
                await self.heal_once()
            except Exception:
                log.exception("gap healing failed; will retry")
