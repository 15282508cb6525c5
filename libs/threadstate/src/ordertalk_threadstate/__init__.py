"""Pure fold of published thread events into a thread's state, shared by every read side."""

from ordertalk_threadstate.bell import EMPTY_BELL, BellCounts, bell_counts
from ordertalk_threadstate.gaps import Folded, fold_states, fold_thread
from ordertalk_threadstate.state import (
    Attention,
    DisputeRecord,
    GapDetected,
    LastMessage,
    ThreadState,
    apply_event,
    excerpt,
)

__all__ = [
    "EMPTY_BELL",
    "Attention",
    "BellCounts",
    "DisputeRecord",
    "Folded",
    "GapDetected",
    "LastMessage",
    "ThreadState",
    "apply_event",
    "bell_counts",
    "excerpt",
    "fold_states",
    "fold_thread",
]
