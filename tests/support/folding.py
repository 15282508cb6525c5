"""The thread state a list of events folds to, for tests (the shared fold, event by event)."""

from __future__ import annotations

from collections.abc import Iterable

from ordertalk_threadstate import ThreadState, apply_event

from ordertalk_contracts import ThreadEvent


def fold(events: Iterable[ThreadEvent]) -> ThreadState:
    """Apply ``events`` in order from nothing; the state they end in (at least one event)."""
    state: ThreadState | None = None
    for event in events:
        state = apply_event(state, event)
    assert state is not None
    return state
