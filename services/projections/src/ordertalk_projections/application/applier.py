"""Use case: apply a batch of parsed events to the read models of a generation, idempotently."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field

from ordertalk_contracts import IntegrationEvent, MessagePostedV1, OrderRegisteredV1, ThreadEvent
from ordertalk_projections.application.ports import ReadModelWriter
from ordertalk_projections.domain.generations import Generation
from ordertalk_projections.domain.projector import ThreadProjection, fold
from ordertalk_runtime.vouching import NEVER_STARTED, Voucher, report_untrusted

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
CACHE_SIZE = 100_000
CONSUMER = "projections"


@dataclass
class BatchResult:
    """What a batch did: events applied, events parked beyond a gap, highest position seen."""

    applied: int = 0
    parked: int = 0
    held: int = 0  # thread events the event store does not vouch for (beyond its head): not applied, not counted
    position: int = 0
    waiting_threads: list[str] = field(default_factory=list)
    deferred_threads: list[str] = field(default_factory=list)


Preloaded = tuple[dict[str, ThreadProjection], list[ThreadEvent]]


def grouped(events: list[ThreadEvent]) -> dict[str, list[ThreadEvent]]:
    """Thread events by order id, each thread's in arrival order."""
    by_thread: dict[str, list[ThreadEvent]] = defaultdict(list)
    for event in events:
        by_thread[event.order_id].append(event)
    return dict(by_thread)


class ConcurrentWriters(RuntimeError):
    """Another writer kept moving a thread while this one tried to store it."""


class ThreadCache:
    """The last projection this process stored per (generation, order id), least recently used evicted.

    Only a hint: every thread write stays guarded by the version it was folded from, so a stale entry
    (another writer moved the thread) makes the guard miss, the entry is dropped and the thread is
    read from the database again.
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, str], ThreadProjection] = OrderedDict()

    def get(self, gen: Generation, order_id: str) -> ThreadProjection | None:
        """The cached projection, if any."""
        key = (gen.number, order_id)
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, gen: Generation, projection: ThreadProjection) -> None:
        """Remember what was stored."""
        key = (gen.number, projection.state.order_id)
        self._items[key] = projection
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def drop(self, gen: Generation, order_id: str) -> None:
        """Forget a thread (read it from the database next time)."""
        self._items.pop((gen.number, order_id), None)


class BatchApplier:
    """Folds events per thread with the pure projector and stores the result behind version guards."""

    def __init__(
        self, store: ReadModelWriter, cache: ThreadCache | None = None, voucher: Voucher | None = None
    ) -> None:
        self.store = store
        self.cache = cache if cache is not None else ThreadCache()
        self.voucher = voucher  # None: every event is trusted (no event feed to ask, or a rebuild from the store)

    async def apply(self, gen: Generation, events: list[IntegrationEvent]) -> BatchResult:
        """Apply the events; safe to call again with any of them (redelivery changes nothing).

        A thread that another writer keeps moving (its guard misses MAX_ATTEMPTS times) does not hold
        up the batch: its events are parked (idempotent, keyed by version) and applied with the
        thread's next event or healing pass; the rest of the batch is stored and may be committed.
        """
        result = BatchResult()
        orders = [e for e in events if isinstance(e, OrderRegisteredV1)]
        thread_events = [e for e in events if isinstance(e, ThreadEvent)]
        preloaded: Preloaded | None = None
        if self.voucher is not None and thread_events:
            # Beyond the store's head: held back, neither applied nor covered by the position (read-your-writes).
            # The head (when the batch goes beyond the known one) is asked while the threads are read.
            (thread_events, held), preloaded = await asyncio.gather(
                self.voucher.split(thread_events), self._preload(gen, grouped(thread_events), orders)
            )
            result.held = len(held)
        by_thread = grouped(thread_events)
        result.position = max((e.position for e in thread_events), default=0)
        pending = dict(by_thread)
        registered = preloaded is not None
        for _ in range(MAX_ATTEMPTS):
            if not pending:
                break
            pending = await self._attempt(gen, pending, result, [] if registered else orders, preloaded)
            registered, preloaded = True, None
        else:
            if pending:
                await self._defer(gen, pending, result)
        if not registered and orders:
            await self.store.register_orders(gen, orders)
        return result

    async def _preload(
        self, gen: Generation, by_thread: dict[str, list[ThreadEvent]], orders: list[OrderRegisteredV1]
    ) -> Preloaded:
        """The first attempt's reads (and the order registrations), done ahead."""
        current, parked, _ = await asyncio.gather(
            self._load(gen, by_thread),
            self.store.load_parked(gen, list(by_thread)),
            self.store.register_orders(gen, orders),
        )
        return current, parked

    async def redrive(self, gen: Generation, order_ids: list[str]) -> BatchResult:
        """Apply the parked events of these threads again (threads deferred by a busy batch)."""
        return await self.apply(gen, list(await self.store.load_parked(gen, order_ids)))

    async def _defer(self, gen: Generation, pending: dict[str, list[ThreadEvent]], result: BatchResult) -> None:
        ids = sorted(pending)
        log.warning("threads kept changing under this writer; parking their events for a later pass: %s", ids[:5])
        for order_id in ids:
            self.cache.drop(gen, order_id)
        await self.store.park(gen, [e for oid in ids for e in pending[oid]])
        result.deferred_threads += ids
        # Not applied yet: the position this writer reports must not cover them (read-your-writes).
        result.position = min(result.position, min(e.position for oid in ids for e in pending[oid]) - 1)

    async def _load(self, gen: Generation, by_thread: dict[str, list[ThreadEvent]]) -> dict[str, ThreadProjection]:
        current: dict[str, ThreadProjection] = {}
        missing: list[str] = []
        for order_id, events in by_thread.items():
            cached = self.cache.get(gen, order_id)
            # A gap seen from the cache may be another writer's progress: only the database decides gaps.
            if cached is None or min(e.thread_version for e in events) > cached.state.version + 1:
                missing.append(order_id)
            else:
                current[order_id] = cached
        if missing:
            current.update(await self.store.load_threads(gen, missing))
        return current

    async def _attempt(
        self,
        gen: Generation,
        by_thread: dict[str, list[ThreadEvent]],
        result: BatchResult,
        orders: list[OrderRegisteredV1],
        preloaded: Preloaded | None = None,
    ) -> dict[str, list[ThreadEvent]]:
        ids = list(by_thread)
        if preloaded is not None:
            current, parked_events = preloaded
        else:  # independent reads (and the order registrations) share one round trip
            current, parked_events, _ = await asyncio.gather(
                self._load(gen, by_thread), self.store.load_parked(gen, ids), self.store.register_orders(gen, orders)
            )
        parked: dict[str, list[ThreadEvent]] = defaultdict(list)
        for event in parked_events:
            parked[event.order_id].append(event)
        new_waiting: list[ThreadEvent] = []
        messages: list[MessagePostedV1] = []
        writes: list[tuple[ThreadProjection, int]] = []
        applied: dict[str, int] = {}
        stale: list[tuple[str, int]] = []
        for order_id, events in by_thread.items():
            before = current.get(order_id)
            outcome = fold(before, [*events, *parked.get(order_id, [])])
            was_parked = {e.thread_version for e in parked.get(order_id, [])}
            fresh = [e for e in outcome.waiting if e.thread_version not in was_parked]
            new_waiting += fresh
            if outcome.waiting:
                result.waiting_threads.append(order_id)
            if outcome.unstarted:  # a thread never started: its events wait instead of making a ghost thread
                report_untrusted(CONSUMER, fresh, NEVER_STARTED, "their thread's version 1 is not ThreadStarted")
            elif outcome.waiting:
                log.info("thread %s waits for versions %s", order_id, outcome.missing_versions)
            if outcome.projection is None or not outcome.changed:
                if before is not None and parked.get(order_id) and not outcome.waiting:
                    stale.append((order_id, before.state.version))  # parked copies of applied versions
                continue
            messages += [e for e in outcome.applied if isinstance(e, MessagePostedV1)]
            writes.append((outcome.projection, before.state.version if before else 0))
            applied[order_id] = len(outcome.applied)
        # Order of writes: parked events, messages and orders first, the thread document last: a thread
        # stored at version v means everything up to v is stored (a crash before it redoes the same writes).
        await asyncio.gather(
            self.store.park(gen, new_waiting),
            self.store.put_messages(gen, messages),
            self.store.put_order_threads(
                gen, [p for p, _ in writes], {p.state.order_id for p, expected in writes if expected}
            ),
        )
        result.parked += len(new_waiting)
        behind = await self.store.put_threads(gen, writes)
        unpark = stale
        for projection, _ in writes:
            order_id = projection.state.order_id
            if order_id in behind:
                self.cache.drop(gen, order_id)
                continue
            self.cache.put(gen, projection)
            result.applied += applied[order_id]
            if parked.get(order_id):
                unpark.append((order_id, projection.state.version))
        await asyncio.gather(*(self.store.unpark(gen, oid, version) for oid, version in unpark))
        return {order_id: by_thread[order_id] for order_id in behind}
