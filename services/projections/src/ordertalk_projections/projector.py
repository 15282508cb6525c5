"""Pure projector: fold a thread's pending events into its state, parking what lies beyond a gap."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ordertalk_threadstate import LastMessage, ThreadState, apply_event

from ordertalk_contracts import DisputeOpenedV1, MessagePostedV1, ThreadEvent, ThreadStartedV1
from ordertalk_projections.keywords import words


@dataclass(frozen=True, slots=True)
class ThreadProjection:
    """What the read models keep about one thread beyond ThreadState.

    Search words, start time, and each party's latest message (a list row shows the latest message
    by others as what is new, even when the viewer wrote after it).
    """

    state: ThreadState
    keywords: frozenset[str] = frozenset()
    started_at: datetime | None = None
    latest_by_party: dict[str, LastMessage] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FoldOutcome:
    """The result of folding a thread's pending events."""

    projection: ThreadProjection | None
    applied: list[ThreadEvent] = field(default_factory=list)
    waiting: list[ThreadEvent] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether any event was applied."""
        return bool(self.applied)

    @property
    def missing_versions(self) -> tuple[int, int] | None:
        """The (first, last) thread versions missing before the earliest waiting event, if any wait."""
        if not self.waiting:
            return None
        have = self.projection.state.version if self.projection else 0
        return have + 1, self.waiting[0].thread_version - 1


def project(current: ThreadProjection | None, event: ThreadEvent) -> ThreadProjection:
    """Apply one event (the next version) to a thread projection; GapDetected if it is not the next one."""
    state = apply_event(current.state if current else None, event)
    keywords = current.keywords if current else frozenset()
    started_at = current.started_at if current else None
    latest = current.latest_by_party if current else {}
    if isinstance(event, ThreadStartedV1):
        keywords = keywords | words(event.order_number)
        started_at = event.occurred_at
    elif isinstance(event, MessagePostedV1):
        keywords = keywords | words(event.body)
        if state.last_message is not None:
            latest = latest | {event.actor.party: state.last_message}
    elif isinstance(event, DisputeOpenedV1):
        keywords = keywords | words(event.reason)
    return ThreadProjection(state=state, keywords=keywords, started_at=started_at, latest_by_party=latest)


def fold(current: ThreadProjection | None, events: list[ThreadEvent]) -> FoldOutcome:
    """Apply every event that continues the thread's versions, in version order.

    Events at or below the current version are redeliveries and are dropped; events beyond a
    missing version are returned as ``waiting`` (to be parked until the gap is filled).
    """
    have = current.state.version if current else 0
    pending: dict[int, ThreadEvent] = {}
    for event in events:
        if event.thread_version > have:
            pending.setdefault(event.thread_version, event)
    applied: list[ThreadEvent] = []
    projection = current
    while have + 1 in pending:
        event = pending.pop(have + 1)
        projection = project(projection, event)
        applied.append(event)
        have += 1
    waiting = [pending[v] for v in sorted(pending)]
    return FoldOutcome(projection=projection, applied=applied, waiting=waiting)
