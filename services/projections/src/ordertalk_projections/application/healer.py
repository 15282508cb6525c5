"""Gap healing of the read models: the shared healing pass (``ordertalk_runtime.gap_healing``) over this store."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from ordertalk_contracts import ThreadEvent
from ordertalk_projections.application.applier import CONSUMER, BatchApplier
from ordertalk_projections.application.ports import ParkedThreads
from ordertalk_runtime.event_feed import EventFeed
from ordertalk_runtime.gap_healing import HealingPass, Waiting, run_every
from ordertalk_runtime.vouching import Voucher


class ReadModelTarget:
    """HealingTarget of the active generation: its parked threads, applied through the batch applier."""

    def __init__(self, store: ParkedThreads, applier: BatchApplier) -> None:
        self.store, self.applier = store, applier

    async def waiting_threads(self) -> Mapping[str, Waiting]:
        """Every thread of the active generation with parked events."""
        gen = await self.store.active_generation()
        parked = dict(await self.store.parked_threads(gen))
        if not parked:
            return {}
        known = await self.store.load_threads(gen, parked)
        return {
            oid: Waiting(known[oid].state.position if oid in known else 0, position, started=oid in known)
            for oid, position in parked.items()
        }

    async def apply_healed(self, events: list[ThreadEvent]) -> int:
        """Apply found events to the active generation."""
        gen = await self.store.active_generation()
        return (await self.applier.apply(gen, list(events))).applied

    async def set_aside(self, order_ids: list[str]) -> list[ThreadEvent]:
        """Move the parked events of threads the store never started to the held-aside events."""
        gen = await self.store.active_generation()
        return await self.store.set_aside_parked(gen, order_ids)


class GapHealer:
    """Periodically fills version gaps of parked threads from the feed (Kafka fills most gaps by itself)."""

    def __init__(
        self, store: ParkedThreads, applier: BatchApplier, feed: EventFeed, voucher: Voucher | None = None
    ) -> None:
        self.store, self.applier, self.feed = store, applier, feed
        self.healing = HealingPass(ReadModelTarget(store, applier), feed, voucher or applier.voucher, CONSUMER)

    @property
    def healed(self) -> int:
        """Events applied by healing so far."""
        return self.healing.healed

    async def heal_once(self) -> int:
        """One healing pass over every parked thread (and the held events); answers how many events it applied."""
        return await self.healing.heal_once()

    async def run(self, stop: asyncio.Event, every: float) -> None:
        """Heal every ``every`` seconds until ``stop`` is set; feed errors are logged and retried."""
        await run_every(stop, every, self.heal_once)
