"""Handling a batch of thread events: fold state, record e-mails in the outbox, publish bell alerts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ordertalk_threadstate import GapDetected, ThreadState, apply_event

from ordertalk_contracts import ThreadEvent
from ordertalk_notifier.alerts import ADMIN_AUDIENCE, audiences, description_for
from ordertalk_notifier.hub import Alert, BroadcastHub
from ordertalk_notifier.policy import Links, Notification, notifications_for
from ordertalk_notifier.ports import BellCounts, Outbox, OutboxEntry, ThreadStore
from ordertalk_notifier.rendering import Sender, render, subject
from ordertalk_notifier.tally import BellTally, Contribution

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


def fold(state: ThreadState | None, event: ThreadEvent) -> ThreadState:
    """apply_event, fast-forwarding over a gap (earlier events were never seen: nothing to notify about them)."""
    try:
        return apply_event(state, event)
    except GapDetected as gap:
        log.warning("order %s: %s; fast-forwarding", event.order_id, gap)
        assert state is not None  # a gap needs a state
        return apply_event(state.model_copy(update={"version": event.thread_version - 1}), event)


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
        return bytes(render(Notification.from_payload(entry.payload), self.sender, self.clock()))


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
    _states: dict[str, ThreadState] = field(default_factory=dict, init=False)
    _tally_loaded_at: datetime | None = field(default=None, init=False)

    def forget_states(self) -> None:
        """Drop cached states and counts (another process may have written them, e.g. after a rebalance)."""
        self._states.clear()
        self.tally.invalidate()

    async def _refresh_tally(self) -> None:
        now = self.clock()
        stale = (
            self._tally_loaded_at is None or (now - self._tally_loaded_at).total_seconds() > self.tally_refresh_seconds
        )
        if not self.tally.loaded or stale:
            self.tally.load(Contribution(*c) for c in await self.threads.contributions())
            self._tally_loaded_at = now

    async def _state(self, order_id: str) -> ThreadState | None:
        state = self._states.get(order_id)
        return state if state is not None else await self.threads.get(order_id)

    def _remember(self, state: ThreadState) -> None:
        if len(self._states) >= self.cache_size and state.order_id not in self._states:
            self._states.pop(next(iter(self._states)))
        self._states[state.order_id] = state

    async def handle_batch(self, events: Sequence[ThreadEvent]) -> BatchOutcome:
        """Handle events in order; durable when it returns (then the offsets may be committed)."""
        outcome = BatchOutcome()
        news: dict[str, list[tuple[ThreadEvent, str | None]]] = {}
        current: dict[str, ThreadState | None] = {}
        changed: dict[str, ThreadState] = {}
        original: dict[str, ThreadState | None] = {}
        entries: list[OutboxEntry] = []
        now = self.clock()
        await self._refresh_tally()
        for event in events:
            if event.order_id in current:
                before = current[event.order_id]
            else:
                before = original[event.order_id] = await self._state(event.order_id)
            after = fold(before, event)
            entries += [outbox_entry(n, self.sender, now) for n in notifications_for(event, after, self.links)]
            if after is not before:
                changed[after.order_id] = after
                for audience in audiences(after):
                    news.setdefault(audience, []).append((event, description_for(audience, event, after)))
            current[event.order_id] = after
        # Durable effects, outbox first: a crash between the two writes redelivers the batch, and both are idempotent.
        if entries:
            outcome.new_emails = await self.outbox.add(entries)
        if changed:
            try:
                await self.threads.save_many(list(changed.values()))
            except BaseException:
                self.forget_states()
                raise
            for state in changed.values():
                self._remember(state)
                self.tally.apply(original[state.order_id], state)
        if outcome.new_emails:
            self.on_new_emails([e.key for e in entries])
        for audience, items in news.items():
            if not self.hub.has_subscribers(audience):
                continue
            counts = await self.counts(audience)
            for event, description in items:
                if description is None and event is not items[-1][0]:
                    continue  # counts-only alerts: the last one of the batch carries the final counts
                alert = {
                    "counts": counts,
                    "description": description,
                    "order_id": event.order_id,
                    "event_type": event.event_type,
                    "position": event.position,
                }
                self.hub.publish(audience, alert)
                outcome.alerts.append((audience, alert))
        return outcome

    async def counts(self, audience: str) -> BellCounts:
        """Current bell counts of an audience: from the tally, or from the store while it is not loaded."""
        if self.tally.loaded:
            if audience == ADMIN_AUDIENCE:
                return self.tally.admin()
            return self.tally.customer(audience.removeprefix("customer:"))
        if audience == ADMIN_AUDIENCE:
            return await self.threads.admin_counts()
        return await self.threads.customer_counts(audience.removeprefix("customer:"))
