"""Kafka entrypoint: the projections' handler on the consumer runtime (one group applies every read model).

The runtime (``ordertalk_runtime.consumer``) fetches, dead-letters poison, retries and commits; this handler
decodes a record (``intake.accept``), applies a batch to the active generation (stage 1: every read-model
write, then the in-process position watch), and records the shared progress of the handled batches (stage 2,
while the next batch is applied); their offsets are committed after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ordertalk_contracts import ContractError, IntegrationEvent
from ordertalk_projections.application.applier import BatchApplier, ThreadCache
from ordertalk_projections.application.positions import PositionWatch
from ordertalk_projections.domain.generations import POINTER_TTL, Generation
from ordertalk_projections.domain.intake import TOPICS, Rejected, accept
from ordertalk_projections.settings import Settings
from ordertalk_runtime.consumer import Consumer, ConsumerConfig, Record
from ordertalk_runtime.retry import Transient

log = logging.getLogger(__name__)
# Errors retried without end by the runtime (nothing is skipped): the store's own are given by the wiring.
TRANSIENT: Transient = (OSError,)
REDRIVE_EVERY = 0.2  # seconds between passes over deferred threads while no batch comes


@dataclass(frozen=True, slots=True)
class Progress:
    """What a handled batch leaves for stage 2: the generation it went into and the position it reached."""

    generation: Generation
    position: int


class ProgressStore(Protocol):
    """What the handler needs of the read-model store besides the applier's writes."""

    async def active_generation(self) -> Generation:
        """The generation the pointer names."""
        ...

    async def record_progress(self, gen: Generation, writer: str, position: int) -> None:
        """Raise ``writer``'s applied position in ``gen`` (never lowers it)."""
        ...


class ProjectionWorker:
    """The runtime's handler for the read models: decode, apply (stage 1), record progress (stage 2), reset."""

    def __init__(
        self,
        store: ProgressStore,
        applier: BatchApplier,
        watch: PositionWatch,
        group: str,
        transient: Transient = TRANSIENT,
    ) -> None:
        self.store, self.applier, self.watch, self.group = store, applier, watch, group
        self.transient = transient  # the store's errors that are worth retrying (the database unreachable, ...)
        self.applied_events = 0
        self.deferred: set[str] = set()
        self._gen: Generation | None = None
        self._gen_read_at = 0.0
        self._applying = asyncio.Lock()  # a batch and a pass over deferred threads never interleave

    async def generation(self, fetched_at: float) -> Generation:
        """The active generation for records fetched at ``fetched_at`` (monotonic seconds).

        The pointer is read again when the cached read started more than POINTER_TTL before the fetch:
        a rebuild waits POINTER_TTL after its switch before its final catch-up, so records fetched while
        the old generation was still in use are read into the new one as well. A batch is handled after
        its fetch, so the time its handling starts is a safe (later) stand-in for the fetch time.
        """
        if self._gen is None or fetched_at - self._gen_read_at >= POINTER_TTL:
            started = time.monotonic()
            self._gen = await self.store.active_generation()
            self._gen_read_at = started
        return self._gen

    def decode(self, record: Record) -> IntegrationEvent:
        """The event a record carries; ContractError (the runtime dead-letters the record) if it is poison."""
        outcome = accept(record.topic, record.value)
        if isinstance(outcome, Rejected):
            raise ContractError(outcome.reason)
        return outcome

    async def handle(self, events: Sequence[IntegrationEvent]) -> Progress:
        """Apply a batch to the active generation; readers in this process see its position at once."""
        fetched_at = time.monotonic()
        async with self._applying:
            gen = await self.generation(fetched_at)
            result = await self.applier.apply(gen, list(events))
            if result.position:
                self.watch.advance(result.position)
            self.applied_events += result.applied
            self.deferred.update(result.deferred_threads)
            if self.deferred:
                await self._redrive(gen)
        return Progress(gen, result.position)

    async def flush(self, staged: Sequence[Progress]) -> None:
        """Raise the shared progress (readers in other processes) to the highest position per generation."""
        highest: dict[Generation, int] = {}
        for item in staged:
            if item.position:
                highest[item.generation] = max(highest.get(item.generation, 0), item.position)
        await asyncio.gather(*(self.store.record_progress(gen, self.group, pos) for gen, pos in highest.items()))

    def reset(self) -> None:
        """Forget the cached pointer and thread projections (partitions moved, or batches come again)."""
        self._gen = None
        self.applier.cache = ThreadCache(self.applier.cache.size)

    async def redrive_while_idle(self, stop: asyncio.Event, every: float = REDRIVE_EVERY) -> None:
        """Until ``stop``: apply deferred threads again when no batch does (a quiet topic still heals them)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if self.deferred and not self._applying.locked():
                async with self._applying:
                    try:
                        await self._redrive(await self.generation(time.monotonic()))
                    except Exception:  # the threads stay deferred: the next pass or batch tries again
                        log.warning("re-applying deferred threads failed; they stay deferred", exc_info=True)

    async def _redrive(self, gen: Generation) -> None:
        """Apply again the threads a batch deferred (their events wait in the parked collection)."""
        ids = sorted(self.deferred)
        try:
            result = await self.applier.redrive(gen, ids)
        except self.transient:
            raise  # the runtime's retry policy: the batch (idempotent) and this pass are tried again
        except Exception:  # not the batch's fault: its events must not be dead-lettered
            log.exception("re-applying deferred threads failed; they stay deferred")
            return
        self.deferred = set(result.deferred_threads)
        self.applied_events += result.applied


def projection_consumer(settings: Settings, worker: ProjectionWorker) -> Consumer[IntegrationEvent, Progress]:
    """The projections' consumer group on the runtime, tuned by the service's settings."""
    config = ConsumerConfig(
        name=settings.projections_group,
        group_id=settings.projections_group,
        topics=TOPICS,
        max_records=settings.projections_batch,
        fetch_max_wait_ms=settings.projections_fetch_max_wait_ms,
        stall_seconds=settings.projections_stall_seconds,
    )
    return Consumer(config, settings.kafka, worker, worker.transient)
