"""Pure projector: the read models' step over one event; the gap handling is the shared fold's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ordertalk_threadstate import Folded, LastMessage, ThreadState, apply_event, fold_thread

from ordertalk_contracts import DisputeOpenedV1, MessagePostedV1, ThreadEvent, ThreadStartedV1
from ordertalk_projections.domain.keywords import words


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


FoldOutcome = Folded[ThreadProjection]
"""The result of folding a thread's pending events (the shared fold's outcome)."""


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
    """The shared gap-handling fold (``ordertalk_threadstate.fold_thread``) with ``project`` as its step."""
    return fold_thread(current, current.state.version if current else 0, events, project)
