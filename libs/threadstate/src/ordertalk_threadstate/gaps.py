"""The one gap-handling fold of every read side: apply what continues a thread's versions, park the rest; pure.

Given a thread's current projection (a ThreadState, or a read side's richer record around one) and its pending
events (new ones and those parked before), every event that continues the versions is applied in version order
through the read side's step function; redeliveries (at or below the current version) are dropped; events beyond
a missing version are answered as ``waiting`` (to be parked until the gap is filled). Nothing is ever skipped
over a gap. A thread whose version 1 is not ThreadStarted is never started: its events wait (``unstarted``)
instead of creating a thread without an order number or a customer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ordertalk_contracts import ThreadEvent, ThreadStartedV1
from ordertalk_threadstate.state import ThreadState, apply_event

P = TypeVar("P")
Step = Callable[[P | None, ThreadEvent], P]


@dataclass(frozen=True, slots=True)
class Folded(Generic[P]):
    """The result of folding a thread's pending events."""

    projection: P | None
    version: int
    applied: list[ThreadEvent] = field(default_factory=list)
    steps: list[P] = field(default_factory=list)  # the projection after each applied event, in order
    waiting: list[ThreadEvent] = field(default_factory=list)
    unstarted: bool = False  # version 1 is present but is not ThreadStarted: the thread is never started

    @property
    def changed(self) -> bool:
        """Whether any event was applied."""
        return bool(self.applied)

    @property
    def missing_versions(self) -> tuple[int, int] | None:
        """The (first, last) thread versions missing before the earliest waiting event, if any wait."""
        if not self.waiting:
            return None
        return self.version + 1, self.waiting[0].thread_version - 1


def pending_by_version(have: int, events: Iterable[ThreadEvent]) -> dict[int, ThreadEvent]:
    """The events above version ``have``, one per version (for version 1, a ThreadStarted wins over anything)."""
    pending: dict[int, ThreadEvent] = {}
    for event in events:
        version = event.thread_version
        if version <= have:
            continue
        kept = pending.get(version)
        starts = version == 1 and isinstance(event, ThreadStartedV1) and not isinstance(kept, ThreadStartedV1)
        if kept is None or starts:
            pending[version] = event
    return pending


def fold_thread(current: P | None, version: int, events: Iterable[ThreadEvent], step: Step[P]) -> Folded[P]:
    """Apply every event of one thread that continues from ``version`` (the version ``current`` is at), in order.

    ``step(projection, event)`` applies the next version to a projection (None before the first event).
    """
    pending = pending_by_version(version, events)
    unstarted = version == 0 and 1 in pending and not isinstance(pending[1], ThreadStartedV1)
    applied: list[ThreadEvent] = []
    steps: list[P] = []
    projection, have = current, version
    while not unstarted and have + 1 in pending:
        event = pending.pop(have + 1)
        projection = step(projection, event)
        applied.append(event)
        steps.append(projection)
        have += 1
    waiting = [pending[v] for v in sorted(pending)]
    return Folded(projection, have, applied, steps, waiting, unstarted)


def fold_states(state: ThreadState | None, events: Iterable[ThreadEvent]) -> Folded[ThreadState]:
    """``fold_thread`` over plain ThreadStates (``apply_event`` as the step)."""
    return fold_thread(state, state.version if state else 0, events, apply_event)
