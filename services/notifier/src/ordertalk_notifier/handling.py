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
    """The outbox row of a notification, with the e-mail rendered once."""
    return OutboxEntry(
        key=note.key,
        event_id=note.event_id,
        order_id=note.order_id,
        kind=note.kind,
        recipient=note.recipient.email,
        sender=sender.address,
        subject=subject(note),
        message=bytes(render(note, sender, now)),
        created_at=now,
    )


@dataclass
class EventHandler:
    """The use case "a thread event arrived": its durable effects first, then the live alerts."""

    threads: ThreadStore
    outbox: Outbox
    hub: BroadcastHub
    links: Links
    sender: Sender
    clock: Clock = utc_now
    on_new_email: Callable[[], None] = lambda: None

    async def handle_batch(self, events: Sequence[ThreadEvent]) -> BatchOutcome:
        """Handle events in order; durable when it returns (then the offsets may be committed)."""
        outcome = BatchOutcome()
        news: dict[str, list[tuple[ThreadEvent, str | None]]] = {}
        cache: dict[str, ThreadState | None] = {}
        for event in events:
            before = cache[event.order_id] if event.order_id in cache else await self.threads.get(event.order_id)
            after = fold(before, event)
            now = self.clock()
            entries = [outbox_entry(n, self.sender, now) for n in notifications_for(event, after, self.links)]
            if entries:
                outcome.new_emails += await self.outbox.add(entries)
            if after is not before:
                await self.threads.save(after)
                for audience in audiences(after):
                    news.setdefault(audience, []).append((event, description_for(audience, event, after)))
            cache[event.order_id] = after
        if outcome.new_emails:
            self.on_new_email()
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
        """Current bell counts of an audience."""
        if audience == ADMIN_AUDIENCE:
            return await self.threads.admin_counts()
        return await self.threads.customer_counts(audience.removeprefix("customer:"))
