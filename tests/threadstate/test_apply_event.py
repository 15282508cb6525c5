"""The pure thread-state fold: unread counts, disputes, redelivery and gaps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from ordertalk_threadstate import GapDetected, ThreadState, apply_event, excerpt

from ordertalk_contracts import (
    Actor,
    Customer,
    DisputeClosedV1,
    DisputeOpenedV1,
    MessagePostedV1,
    ThreadEvent,
    ThreadMarkedUnreadV1,
    ThreadReadV1,
    ThreadStartedV1,
)

THREAD = uuid.uuid4()
ADMIN = Actor(role="admin", id="admin-1", display_name="Admin Admin")
CUSTOMER = Actor(role="customer", id="c-1", display_name="Jane Doe")
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


class Builder:
    """Makes consecutive events of one thread."""

    def __init__(self) -> None:
        self.version = 0

    def common(self, actor: Actor) -> dict[str, object]:
        self.version += 1
        return {
            "event_id": uuid.uuid4(),
            "occurred_at": T0 + timedelta(minutes=self.version),
            "order_id": "11",
            "thread_id": THREAD,
            "thread_version": self.version,
            "position": self.version * 10,
            "actor": actor,
        }

    def started(self) -> ThreadStartedV1:
        customer = Customer(id="c-1", name="Jane Doe", email="jane@example.com")
        return ThreadStartedV1(
            **self.common(Actor(role="system", id="orders", display_name="Orders")),
            order_number="#00011",
            customer=customer,
        )

    def posted(self, actor: Actor, seq: int, body: str = "hello") -> MessagePostedV1:
        return MessagePostedV1(**self.common(actor), message_id=uuid.uuid4(), seq=seq, body=body)


def fold(events: list[ThreadEvent]) -> ThreadState:
    state = None
    for event in events:
        state = apply_event(state, event)
    assert state is not None
    return state


def test_unread_counts_messages_by_the_other_side_after_the_read_position() -> None:
    b = Builder()
    state = fold([b.started(), b.posted(CUSTOMER, 1), b.posted(CUSTOMER, 2), b.posted(ADMIN, 3)])
    assert state.unread_for("admin") == 0  # the admin's own post moves their position
    b2 = Builder()
    state2 = fold([b2.started(), b2.posted(CUSTOMER, 1), b2.posted(CUSTOMER, 2)])
    assert state2.unread_for("admin") == 2
    assert state2.unread_for("customer") == 0
    assert state2.message_count == 2
    assert state2.last_message is not None and state2.last_message.seq == 2


def test_read_and_mark_unread_move_the_position() -> None:
    b = Builder()
    events: list[ThreadEvent] = [b.started(), b.posted(CUSTOMER, 1), b.posted(CUSTOMER, 2)]
    events.append(ThreadReadV1(**b.common(ADMIN), party="admin", read_up_to=2))
    assert fold(events).unread_for("admin") == 0
    events.append(ThreadMarkedUnreadV1(**b.common(ADMIN), party="admin", read_up_to=1))
    assert fold(events).unread_for("admin") == 1


def test_disputes_are_kept_as_history() -> None:
    b = Builder()
    events: list[ThreadEvent] = [b.started()]
    events.append(DisputeOpenedV1(**b.common(CUSTOMER), dispute_no=1, reason="late"))
    opened = fold(events)
    assert opened.open_dispute is not None and opened.open_dispute.opened_by == CUSTOMER
    events.append(DisputeClosedV1(**b.common(ADMIN), dispute_no=1, opened_at=opened.open_dispute.opened_at))
    closed = fold(events)
    assert closed.open_dispute is None
    assert len(closed.disputes) == 1 and closed.disputes[0].closed_by == ADMIN


def test_redelivered_event_changes_nothing_and_a_gap_is_detected() -> None:
    b = Builder()
    started, first, second = b.started(), b.posted(CUSTOMER, 1), b.posted(CUSTOMER, 2)
    state = fold([started, first])
    assert apply_event(state, first) is state
    assert apply_event(state, started) is state
    b.version += 1
    with pytest.raises(GapDetected):
        apply_event(state, b.posted(CUSTOMER, 4))
    assert apply_event(state, second).version == 3


def test_excerpt_is_one_line_and_bounded() -> None:
    assert excerpt("a\nb\t c") == "a b c"
    long = excerpt("x" * 500)
    assert len(long) == 160 and long.endswith("…")
