"""Handling a batch of thread events: fold state, record e-mails in the outbox, publish bell alerts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ordertalk_threadstate import ThreadState, fold_states

from ordertalk_contracts import ThreadEvent
from ordertalk_notifier.alerts import ADMIN_AUDIENCE, audiences, description_for
from ordertalk_notifier.hub import Alert, BroadcastHub
from ordertalk_notifier.policy import Links, Notification, notifications_for
from ordertalk_notifier.ports import BellCounts, Outbox, OutboxEntry, ThreadStore
from ordertalk_notifier.rendering import Sender, render_bytes, subject
from ordertalk_notifier.tally import BellTally, Contribution
from ordertalk_runtime.vouching import Voucher

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


@dataclass
class BatchOutcome:
    """What a batch caused: new outbox entries and alerts published."""

    new_emails: int = 0
    alerts: list[tuple[str, Alert]] = field(default_factory=list)


def outbox_entry(note: Notification, sender: Sender, now: datetime) -> OutboxEntry:
    """The outbox row of a notification (rendered only when sent: rendering is the costly part)."""
    return OutboxEntry(
        key=note.key,
        event_id=note.event_id,
        order_id=note.order_id,
        kind=note.kind,
        recipient=note.recipient.email,
        sender=sender.address,
        subject=subject(note),
        payload=note.payload(),
        created_at=now,
    )


@dataclass(frozen=True, slots=True)
class EntryRenderer:
    """Renders an outbox entry's e-mail at send time."""

    sender: Sender
    clock: Clock = utc_now

    def __call__(self, entry: OutboxEntry) -> bytes:
        """The wire bytes of the entry's e-mail."""
        return render_bytes(Notification.from_payload(entry.payload), self.sender, self.clock())


@dataclass
class PreparedBatch:
    """A batch folded in memory (alerts published): the writes that make it durable."""

    entries: list[OutboxEntry]
    states: list[ThreadState]
    outcome: BatchOutcome = field(default_factory=BatchOutcome)
    park: list[ThreadEvent] = field(default_factory=list)  # new events waiting beyond a gap
    unpark: list[tuple[str, int]] = field(default_factory=list)  # (order id, version): parked events now applied
    applied: int = 0  # events applied (the rest: redeliveries, waiting beyond a gap, or not vouched for)


@dataclass
class EventHandler:
    """The use case "a thread event arrived": its durable effects first, then the live alerts."""

    threads: ThreadStore
    outbox: Outbox
    hub: BroadcastHub
    links: Links
    sender: Sender
    clock: Clock = utc_now
    on_new_emails: Callable[[list[str]], None] = lambda keys: None
    cache_size: int = 10_000
    tally_refresh_seconds: float = 60.0
    tally: BellTally = field(default_factory=BellTally)
    voucher: Voucher | None = None  # None: every event is trusted (no event feed to ask)
    _states: dict[str, ThreadState] = field(default_factory=dict, init=False)
    _unsaved: dict[str, ThreadState] = field(default_factory=dict, init=False)  # prepared, not persisted yet
    _tally_loaded_at: datetime | None = field(default=None, init=False)
    _parked_ids: set[str] | None = field(default=None, init=False)  # threads with parked events (None: not read)
    _unsaved_parked: dict[str, dict[int, ThreadEvent]] = field(default_factory=dict, init=False)

    def forget_states(self) -> None:
        """Drop cached states and counts (another process may have written them, e.g. after a rebalance)."""
        self._states.clear()
        self._unsaved.clear()
        self._unsaved_parked.clear()
        self._parked_ids = None
        self.tally.invalidate()

    def forget_parked(self, order_ids: list[str]) -> None:
        """These threads' parked events were put aside elsewhere (the healing pass): do not apply them from memory."""
        for order_id in order_ids:
            self._unsaved_parked.pop(order_id, None)
            if self._parked_ids is not None:
                self._parked_ids.discard(order_id)

    async def _parked_of(self, order_ids: set[str]) -> dict[str, list[ThreadEvent]]:
        """The parked events of these threads: those stored (one query, only for threads known to have some)
        and those parked by batches not persisted yet."""
        if self._parked_ids is None:
            self._parked_ids = {order_id for order_id, _ in await self.threads.parked_threads()}
        stored = sorted(order_ids & self._parked_ids)
        found: dict[str, dict[int, ThreadEvent]] = {}
        for event in await self.threads.load_parked(stored) if stored else []:
            found.setdefault(event.order_id, {})[event.thread_version] = event
        for order_id in order_ids:
            for version, event in self._unsaved_parked.get(order_id, {}).items():
                found.setdefault(order_id, {}).setdefault(version, event)
        return {order_id: list(events.values()) for order_id, events in found.items()}

    async def _refresh_tally(self) -> None:
        now = self.clock()
        stale = (
            self._tally_loaded_at is None or (now - self._tally_loaded_at).total_seconds() > self.tally_refresh_seconds
        )
        if not self.tally.loaded or stale:
            self.tally.load(Contribution.from_row(c) for c in await self.threads.contributions())
            self._tally_loaded_at = now

    async def _states_of(self, order_ids: set[str]) -> dict[str, ThreadState]:
        """The current states of these threads: from memory, the others in one query."""
        found: dict[str, ThreadState] = {}
        for order_id in order_ids:
            state = self._unsaved.get(order_id) or self._states.get(order_id)
            if state is not None:
                found[order_id] = state
        missing = [order_id for order_id in order_ids if order_id not in found]
        if missing:
            found.update(await self.threads.get_many(missing))
        return found

    def _remember(self, state: ThreadState) -> None:
        if len(self._states) >= self.cache_size and state.order_id not in self._states:
            self._states.pop(next(iter(self._states)))
        self._states[state.order_id] = state

    async def handle_batch(self, events: Sequence[ThreadEvent]) -> BatchOutcome:
        """Handle events in order; durable when it returns (then the offsets may be committed)."""
        prepared = await self.prepare(events)
        try:
            await self.persist(prepared)
        except BaseException:
            self.forget_states()  # a retry folds the batch again from the stored states
            raise
        return prepared.outcome

    def _needs_reads(self, events: Sequence[ThreadEvent], order_ids: set[str]) -> bool:
        """Whether preparing these events reads the database or the event store (else all is in memory)."""
        if self._parked_ids is None or order_ids & self._parked_ids:
            return True
        if any(oid not in self._unsaved and oid not in self._states for oid in order_ids):
            return True
        top = max((e.position for e in events), default=0)
        return self.voucher is not None and top > self.voucher.head

    async def _vouched(self, events: Sequence[ThreadEvent]) -> list[ThreadEvent]:
        """The events the store vouches for; those beyond its head are held back (re-checked later)."""
        if self.voucher is None or not events:
            return list(events)
        vouched, _ = await self.voucher.split(events)
        return vouched

    async def prepare(self, events: Sequence[ThreadEvent]) -> PreparedBatch:
        """Fold the events into the states and counts in memory and publish the alerts at once; answer the writes.

        Batches must be prepared in order and persisted in the same order (``persist``) before their offsets are
        committed; until then their states stay readable here, so the next batch can be prepared meanwhile.
        """
        news: dict[str, list[tuple[ThreadEvent, str | None]]] = {}
        changed: dict[str, ThreadState] = {}
        original: dict[str, ThreadState | None] = {}
        entries: list[OutboxEntry] = []
        park: list[ThreadEvent] = []
        unpark: list[tuple[str, int]] = []
        applied_by_thread: list[list[ThreadEvent]] = []
        now = self.clock()
        await self._refresh_tally()
        order_ids = {event.order_id for event in events}
        if self._needs_reads(events, order_ids):  # the store's head is asked while the states are read
            vouched, known, parked = await asyncio.gather(
                self._vouched(events), self._states_of(order_ids), self._parked_of(order_ids)
            )
        else:  # all in memory: awaited in place, with no task and no turn of the loop before the alerts go out
            vouched, known, parked = (
                await self._vouched(events),
                await self._states_of(order_ids),
                await self._parked_of(order_ids),
            )
        by_thread: dict[str, list[ThreadEvent]] = {}
        for event in vouched:
            by_thread.setdefault(event.order_id, []).append(event)
        for order_id, new in by_thread.items():
            before = known.get(order_id)
            was_parked = parked.get(order_id, [])
            # The shared fold: what continues the versions is applied in order, what lies beyond a gap waits.
            folded = fold_states(before, [*new, *was_parked])
            for event, after in zip(folded.applied, folded.steps, strict=True):
                entries += [outbox_entry(n, self.sender, now) for n in notifications_for(event, after, self.links)]
                for audience in audiences(after):
                    news.setdefault(audience, []).append((event, description_for(audience, event, after)))
            applied_by_thread.append(folded.applied)
            if folded.changed and folded.projection is not None:
                changed[order_id], original[order_id] = folded.projection, before
            parked_versions = {e.thread_version for e in was_parked}
            park += [e for e in folded.waiting if e.thread_version not in parked_versions]
            if folded.unstarted:
                log.warning("order %s: version 1 is not ThreadStarted; its events wait (never started)", order_id)
            elif folded.waiting:
                log.info("order %s waits for versions %s", order_id, folded.missing_versions)
            if any(e.thread_version <= folded.version for e in was_parked):
                unpark.append((order_id, folded.version))
        # Nothing was changed above, so an exception leaves no trace. From here on the batch counts as applied.
        for state in changed.values():
            self._remember(state)
            self._unsaved[state.order_id] = state
            self.tally.apply(original[state.order_id], state)  # counts move by applied events only
        for order_id, version in unpark:
            left = {v: e for v, e in self._unsaved_parked.pop(order_id, {}).items() if v > version}
            if left:
                self._unsaved_parked[order_id] = left
        for event in park:
            self._unsaved_parked.setdefault(event.order_id, {})[event.thread_version] = event
            if self._parked_ids is not None:
                self._parked_ids.add(event.order_id)
        applied = sum(len(done) for done in applied_by_thread)
        prepared = PreparedBatch(entries, list(changed.values()), park=park, unpark=unpark, applied=applied)
        self._publish(news, prepared.outcome)
        return prepared

    async def persist(self, *batches: PreparedBatch) -> None:
        """The durable effects of prepared batches (in the order prepared), outbox first: a crash between the two
        writes redelivers the batches, and both writes are idempotent (so a failed call may simply be repeated).
        Several batches go in one write of each kind."""
        entries = [e for b in batches for e in b.entries]
        states = list({s.order_id: s for b in batches for s in b.states}.values())  # the latest state of each
        park = [e for b in batches for e in b.park]
        unpark = list({oid: v for b in batches for oid, v in b.unpark}.items())  # the latest version of each
        if entries:
            new = await self.outbox.add(entries)
            if len(batches) == 1:
                batches[0].outcome.new_emails = new
            if new:
                self.on_new_emails([e.key for e in entries])  # a key offered twice is claimed once
        if park:
            await self.threads.park(park)
            for event in park:
                waiting = self._unsaved_parked.get(event.order_id, {})
                if waiting.get(event.thread_version) is event:
                    del waiting[event.thread_version]
                    if not waiting:
                        del self._unsaved_parked[event.order_id]
        if states:
            await self.threads.save_many(states)
        if unpark:
            await self.threads.unpark(unpark)  # after the states: a parked copy of an applied version is harmless
        for state in states:
            if self._unsaved.get(state.order_id) is state:
                del self._unsaved[state.order_id]

    def _publish(self, news: dict[str, list[tuple[ThreadEvent, str | None]]], outcome: BatchOutcome) -> None:
        for audience, items in news.items():
            if not self.hub.has_subscribers(audience):
                continue
            counts = self._tally_counts(audience)
            for event, description in items:  # one alert per event: an open list fetches the row each one names
                alert = {
                    "counts": counts,
                    "description": description,
                    "order_id": event.order_id,
                    "event_type": event.event_type,
                    "position": event.position,
                }
                self.hub.publish(audience, alert)
                outcome.alerts.append((audience, alert))

    def _tally_counts(self, audience: str) -> BellCounts:
        if audience == ADMIN_AUDIENCE:
            return self.tally.admin()
        return self.tally.customer(audience.removeprefix("customer:"))

    async def counts(self, audience: str) -> BellCounts:
        """Current bell counts of an audience: from the tally, or from the store while it is not loaded."""
        if self.tally.loaded:
            return self._tally_counts(audience)
        if audience == ADMIN_AUDIENCE:
            return await self.threads.admin_counts()
        return await self.threads.customer_counts(audience.removeprefix("customer:"))
