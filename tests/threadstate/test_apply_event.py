"""The pure thread-state fold: unread counts, disputes, redelivery and gaps."""

from __future__ import annotations

import pytest
from ordertalk_threadstate import GapDetected, apply_event, excerpt
from tests.notifier.events import ADMIN, ThreadBuilder
from tests.support.folding import fold

from ordertalk_contracts import ThreadEvent


def test_unread_counts_messages_by_the_other_side_after_the_read_position() -> None:
    t = ThreadBuilder()
    state = fold([t.started(), t.message(t.customer), t.message(t.customer), t.message(ADMIN)])
    assert state.unread_for("admin") == 0  # the admin's own post moves their position
    t2 = ThreadBuilder()
    state2 = fold([t2.started(), t2.message(t2.customer), t2.message(t2.customer)])
    assert state2.unread_for("admin") == 2
    assert state2.unread_for("customer") == 0
    assert state2.message_count == 2
    assert state2.last_message is not None and state2.last_message.seq == 2


def test_read_and_mark_unread_move_the_position() -> None:
    t = ThreadBuilder()
    events: list[ThreadEvent] = [t.started(), t.message(t.customer), t.message(t.customer)]
    events.append(t.read(ADMIN))
    assert fold(events).unread_for("admin") == 0
    events.append(t.marked_unread(ADMIN, 1))
    assert fold(events).unread_for("admin") == 1


def test_disputes_are_kept_as_history() -> None:
    t = ThreadBuilder()
    events: list[ThreadEvent] = [t.started(), t.dispute_opened(t.customer, "late")]
    opened = fold(events)
    assert opened.open_dispute is not None and opened.open_dispute.opened_by == t.customer
    events.append(t.dispute_closed(ADMIN))
    closed = fold(events)
    assert closed.open_dispute is None
    assert len(closed.disputes) == 1 and closed.disputes[0].closed_by == ADMIN


def test_redelivered_event_changes_nothing_and_a_gap_is_detected() -> None:
    t = ThreadBuilder()
    started, first, second = t.started(), t.message(t.customer), t.message(t.customer)
    state = fold([started, first])
    assert apply_event(state, first) is state
    assert apply_event(state, started) is state
    t.version += 1
    with pytest.raises(GapDetected):
        apply_event(state, t.message(t.customer))
    assert apply_event(state, second).version == 3


def test_excerpt_is_one_line_and_bounded() -> None:
    assert excerpt("a\nb\t c") == "a b c"
    long = excerpt("x" * 500)
    assert len(long) == 160 and long.endswith("…")
