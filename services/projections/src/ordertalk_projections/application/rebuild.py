"""Use case: rebuild every read model into a new generation from the event log (Kafka) or the feed, then switch."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

from ordertalk_contracts import IntegrationEvent, ThreadEvent
from ordertalk_projections.application.applier import BatchApplier
from ordertalk_projections.application.ports import EventLog, LogChunk, LogReader, RebuildStore
from ordertalk_projections.domain.generations import POINTER_TTL, REBUILD_ID, Generation
from ordertalk_runtime.event_feed import EventFeed

Source = Literal["kafka", "store"]
WRITER = "rebuild"
CHUNK = 1000


class RebuildStopped(Exception):
    """The rebuild was asked to stop; its checkpoint is saved and a new run resumes it."""


class RebuildConflict(Exception):
    """The rebuild cannot run: an unfinished rebuild from another source exists, or a topic is not as configured."""


@dataclass
class ProgressLine:
    """Prints done/total, rate and ETA at most once a second."""

    label: str
    total: int
    out: TextIO = field(default_factory=lambda: sys.stderr)
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    printed: float = 0.0

    def add(self, count: int, force: bool = False) -> None:
        """Count ``count`` more events and maybe print."""
        self.done += count
        now = time.monotonic()
        if not force and now - self.printed < 1.0:
            return
        self.printed = now
        rate = self.done / max(now - self.started, 1e-6)
        total = max(self.total, self.done)
        eta = (total - self.done) / rate if rate > 0 else 0.0
        pct = 100.0 * self.done / total if total else 100.0
        self.out.write(f"{self.label}: {self.done}/{total} events ({pct:.0f}%), {rate:.0f} ev/s, ETA {eta:.0f}s\n")
        self.out.flush()

    @property
    def rate(self) -> float:
        """Events per second so far."""
        return self.done / max(time.monotonic() - self.started, 1e-6)


@dataclass
class RebuildReport:
    """The outcome of a rebuild."""

    generation: int
    events: int
    seconds: float
    rejected: int
    setup_seconds: float = 0.0  # pointer, collections, consumer start, offsets: before the first event
    load_seconds: float = 0.0  # the bulk load up to the end captured at start (the steady state)
    loaded: int = 0  # events read by the bulk load
    finish_seconds: float = 0.0  # indexes, catch-up, switch, the last read

    @property
    def rate(self) -> float:
        """Events applied per second, setup included."""
        return self.events / max(self.seconds, 1e-6)

    @property
    def load_rate(self) -> float:
        """Events read per second during the bulk load (setup and finish excluded)."""
        return self.loaded / max(self.load_seconds, 1e-6)


class Rebuilder:
    """Builds generation n+1 beside the live one, switches the pointer, then catches up."""

    def __init__(
        self,
        store: RebuildStore,
        log: EventLog,
        feed: EventFeed | None,
        stop: asyncio.Event | None = None,
        out: TextIO | None = None,
        batch: int = 5000,
    ) -> None:
        self.store, self.log, self.feed = store, log, feed
        self.applier = BatchApplier(store)
        self.stop = stop or asyncio.Event()
        self.out = out or sys.stderr
        self.batch = batch
        # Chunks of a Kafka rebuild: large enough for big insert_many calls, small enough that fetching and
        # parsing the next one overlaps the writes of the previous one.
        self.chunk = max(1, min(batch, CHUNK))
        self.rejected = 0
        self.applied = 0
        self.on_batch: Callable[[], None] | None = None
        self._phases: dict[str, float] = {}
        self._loaded = 0

    def _mark(self, phase: str) -> None:
        self._phases[phase] = time.monotonic()

    async def run(self, source: Source, restart: bool = False) -> RebuildReport:
        """Rebuild (or resume an unfinished rebuild) from ``source``; switch when complete."""
        started = time.monotonic()
        state = await self.store.running_rebuild()
        if state and (restart or state["source"] != source):
            if not restart:
                raise RebuildConflict(f"an unfinished rebuild from {state['source']} exists; pass --restart")
            await self.store.drop_generation(Generation(int(state["generation"])))
            state = None
        if state is None:
            active = await self.store.active_generation()
            gen = Generation(active.number + 1)
            await self.store.drop_generation(gen)
            state = {"_id": REBUILD_ID, "state": "running", "source": source, "generation": gen.number}
            await self.store.save_rebuild(state)
            await self.store.create_collections(gen)
            # Indexes are created after the bulk load (before the switch): inserting into unindexed
            # collections is cheaper, and building an index once over the loaded documents is too.
            if source == "store":
                # Orders announced on the ORDERS topic are not in the event store: carry their registration over.
                await self.store.copy_registered_orders(active, gen)
        gen = Generation(int(state["generation"]))
        self.out.write(f"rebuilding generation v{gen.number} from {source}\n")
        if source == "kafka":
            await self._from_kafka(gen, state)
        else:
            await self._from_store(gen, state)
        await self.store.update_rebuild({"state": "done", "finished": time.time()})
        ended = time.monotonic()
        load_start = self._phases.get("load", ended)
        load_end = self._phases.get("loaded", ended)
        return RebuildReport(
            gen.number,
            self.applied,
            ended - started,
            self.rejected,
            setup_seconds=load_start - started,
            load_seconds=load_end - load_start,
            loaded=self._loaded,
            finish_seconds=ended - load_end,
        )

    async def _apply(self, gen: Generation, events: list[IntegrationEvent], checkpoint: dict[str, Any]) -> None:
        """Apply a chunk, then save its progress and checkpoint (``$set`` on the rebuild state) together."""
        result = await self.applier.apply(gen, events)
        self.applied += result.applied
        positions = [e.position for e in events if isinstance(e, ThreadEvent)]
        save = self.store.update_rebuild(checkpoint)
        if positions:
            await asyncio.gather(self.store.record_progress(gen, WRITER, max(positions)), save)
        else:
            await save
        if self.on_batch:
            self.on_batch()

    async def _switch(self, gen: Generation) -> None:
        await self.store.switch_generation(gen)
        self.out.write(f"switched the read models to v{gen.number}\n")
        # Live workers may use the old pointer for up to POINTER_TTL: what they fetch until then is in
        # the range read after this wait.
        await asyncio.sleep(POINTER_TTL + 0.05)

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise RebuildStopped("stopped; the checkpoint is saved: run the same command again to resume")

    # -- from the event log (Kafka offset zero) -------------------------------------------------
    async def _from_kafka(self, gen: Generation, state: dict[str, Any]) -> None:
        async with self.log.open(state, self.batch) as reader:
            done = reader.already_read
            progress = ProgressLine(f"v{gen.number} from kafka", await reader.set_target(), self.out)
            progress.add(done, force=True)
            self._mark("load")
            await self._read_to(reader, gen, progress)
            self._loaded = progress.done - done
            self._mark("loaded")
            await self.store.ensure_indexes(gen)
            # Catch up with what arrived meanwhile, switch, then take what the live workers saw before the switch.
            await reader.set_target()
            await self._read_to(reader, gen, progress)
            await self._switch(gen)
            await reader.set_target()
            await self._read_to(reader, gen, progress)
            progress.add(0, force=True)

    async def _read_to(self, reader: LogReader, gen: Generation, progress: ProgressLine) -> None:
        # Pipelined: the next chunk is fetched and parsed while the previous one is written (writes stay
        # in order, each chunk's checkpoint is saved after its writes).
        storing: asyncio.Task[None] | None = None
        try:
            while True:
                self._check_stop()
                chunk = await reader.next_chunk(self.chunk)
                if storing is not None:
                    await storing
                    storing = None
                    self._check_stop()
                if chunk is None:
                    return
                self.rejected += chunk.rejected
                storing = asyncio.create_task(self._store(gen, chunk, progress))
        finally:
            if storing is not None:
                await storing

    async def _store(self, gen: Generation, chunk: LogChunk, progress: ProgressLine) -> None:
        await self._apply(gen, chunk.events, chunk.checkpoint)
        progress.add(chunk.count)

    # -- from the messaging event feed -----------------------------------------------------------
    async def _from_store(self, gen: Generation, state: dict[str, Any]) -> None:
        if self.feed is None:
            raise RebuildConflict("MESSAGING_URL is not set: the event feed is needed for --source store")
        after = int(state.get("position", 0))
        first = await self.feed.read(after, 1)
        progress = ProgressLine(f"v{gen.number} from store", max(first.last_position, after), self.out)
        self._mark("load")
        after = await self._read_feed(gen, after, progress)
        self._loaded = progress.done
        self._mark("loaded")
        await self.store.ensure_indexes(gen)
        after = await self._read_feed(gen, after, progress)
        await self._switch(gen)
        await self._read_feed(gen, after, progress)
        progress.add(0, force=True)

    async def _read_feed(self, gen: Generation, after: int, progress: ProgressLine) -> int:
        assert self.feed is not None
        while True:
            self._check_stop()
            page = await self.feed.read(after, self.batch)
            self.rejected += page.rejected
            if not page.events:
                return after
            after = max(after, page.last_position)
            await self._apply(gen, page.events, {"position": after})
            progress.total = max(progress.total, after)
            progress.add(len(page.events))
