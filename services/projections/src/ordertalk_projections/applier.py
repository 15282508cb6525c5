"""Use case: apply a batch of parsed events to the read models of a generation, idempotently."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from ordertalk_contracts import IntegrationEvent, MessagePostedV1, OrderRegisteredV1, ThreadEvent
from ordertalk_projections.generations import Generation
from ordertalk_projections.projector import ThreadProjection, fold
from ordertalk_projections.store import ReadModelWriter

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


@dataclass
class BatchResult:
    """What a batch did: events applied, events parked beyond a gap, highest position seen."""

    applied: int = 0
    parked: int = 0
    position: int = 0
    waiting_threads: list[str] = field(default_factory=list)


class ConcurrentWriters(RuntimeError):
    """Another writer kept moving a thread while this one tried to store it."""


class BatchApplier:
    """Folds events per thread with the pure projector and stores the result behind version guards."""

    def __init__(self, store: ReadModelWriter) -> None:
        self.store = store

    async def apply(self, gen: Generation, events: list[IntegrationEvent]) -> BatchResult:
        """Apply the events; safe to call again with any of them (redelivery changes nothing)."""
        result = BatchResult()
        orders = [e for e in events if isinstance(e, OrderRegisteredV1)]
        await self.store.register_orders(gen, orders)
        by_thread: dict[str, list[ThreadEvent]] = defaultdict(list)
        for event in events:
            if isinstance(event, ThreadEvent):
                by_thread[event.order_id].append(event)
                result.position = max(result.position, event.position)
        pending = dict(by_thread)
        for _ in range(MAX_ATTEMPTS):
            if not pending:
                return result
            pending = await self._attempt(gen, pending, result)
        raise ConcurrentWriters(f"threads kept changing under this writer: {sorted(pending)[:5]}")

    async def _attempt(
        self, gen: Generation, by_thread: dict[str, list[ThreadEvent]], result: BatchResult
    ) -> dict[str, list[ThreadEvent]]:
        current = await self.store.load_threads(gen, by_thread)
        parked: dict[str, list[ThreadEvent]] = defaultdict(list)
        for event in await self.store.load_parked(gen, by_thread):
            parked[event.order_id].append(event)
        new_waiting: list[ThreadEvent] = []
        messages: list[MessagePostedV1] = []
        writes: list[tuple[ThreadProjection, int]] = []
        applied: dict[str, int] = {}
        for order_id, events in by_thread.items():
            before = current.get(order_id)
            outcome = fold(before, [*events, *parked.get(order_id, [])])
            was_parked = {e.thread_version for e in parked.get(order_id, [])}
            new_waiting += [e for e in outcome.waiting if e.thread_version not in was_parked]
            if outcome.waiting:
                result.waiting_threads.append(order_id)
                log.info("thread %s waits for versions %s", order_id, outcome.missing_versions)
            if outcome.projection is None or not outcome.changed:
                continue
            messages += [e for e in outcome.applied if isinstance(e, MessagePostedV1)]
            writes.append((outcome.projection, before.state.version if before else 0))
            applied[order_id] = len(outcome.applied)
        # Order of writes: parked events, messages and orders first, the thread document last: a thread
        # stored at version v means everything up to v is stored (a crash before it redoes the same writes).
        await self.store.park(gen, new_waiting)
        result.parked += len(new_waiting)
        await self.store.put_messages(gen, messages)
        await self.store.put_order_threads(gen, [p for p, _ in writes])
        behind = await self.store.put_threads(gen, writes)
        for projection, _ in writes:
            order_id = projection.state.order_id
            if order_id in behind:
                continue
            result.applied += applied[order_id]
            if parked.get(order_id):
                await self.store.unpark(gen, order_id, projection.state.version)
        return {order_id: by_thread[order_id] for order_id in behind}
