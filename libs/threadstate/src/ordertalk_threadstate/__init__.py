"""Pure fold of published thread events into a thread's state, shared by every read side."""

from ordertalk_threadstate.state import (
    DisputeRecord,
    GapDetected,
    LastMessage,
    ThreadState,
    apply_event,
    excerpt,
)

__all__ = ["DisputeRecord", "GapDetected", "LastMessage", "ThreadState", "apply_event", "excerpt"]
