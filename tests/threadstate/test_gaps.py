"""The one gap-handling fold: version order, redelivery, parking beyond a gap, never starting a ghost thread."""

from __future__ import annotations

import uuid

from ordertalk_threadstate import fold_states
from tests.notifier.events import ADMIN, ThreadBuilder

from ordertalk_contracts import MessagePostedV1, ThreadEvent


def test_events_apply_in_version_order_whatever_the_arrival_order() -> None:
    t = ThreadBuilder()
    events = [t.started(), t.message(t.customer), t.message(t.customer), t.read(ADMIN)]
    folded = fold_states(None, [events[2], events[0], events[3], events[1]])
    assert folded.projection is not None and folded.version == 4 and not folded.waiting
    assert [e.thread_version for e in folded.applied] == [1, 2, 3, 4]
    assert [s.version for s in folded.steps] == [1, 2, 3, 4]
    assert folded.projection == fold_states(None, events).projection


def test_a_late_event_is_applied_and_what_follows_it_too_never_fast_forwarded() -> None:
    t = ThreadBuilder()
    started, v2, v3 = t.started(), t.message(t.customer), t.message(t.customer)
    first = fold_states(None, [started, v3])
    assert first.version == 1 and [e.thread_version for e in first.waiting] == [3]
    assert first.missing_versions == (2, 2)
    healed = fold_states(first.projection, [v2, *first.waiting])
    assert healed.projection is not None and healed.version == 3 and not healed.waiting
    assert healed.projection.message_count == 2 and healed.projection.unread_for("admin") == 2


def test_redeliveries_are_dropped() -> None:
    t = ThreadBuilder()
    events = [t.started(), t.message(t.customer)]
    once = fold_states(None, events)
    again = fold_states(once.projection, events)
    assert not again.changed and again.projection == once.projection and not again.waiting


def test_a_thread_whose_first_event_is_not_thread_started_is_never_started() -> None:
    forged = MessagePostedV1(
        **{**ThreadBuilder().message(ADMIN).model_dump(), "order_id": "nobody-registered", "position": 999_999},
    )
    assert forged.thread_version == 1
    folded = fold_states(None, [forged])
    assert folded.projection is None and folded.unstarted and not folded.applied
    assert folded.waiting == [forged]


def test_thread_started_wins_version_one_over_a_forged_copy() -> None:
    t = ThreadBuilder()
    started = t.started()
    forged: ThreadEvent = MessagePostedV1(
        event_id=uuid.uuid4(),
        occurred_at=started.occurred_at,
        order_id=started.order_id,
        thread_id=started.thread_id,
        thread_version=1,
        position=started.position,
        actor=ADMIN,
        message_id=uuid.uuid4(),
        seq=1,
        body="forged",
    )
    folded = fold_states(None, [forged, started, t.message(t.customer)])
    assert folded.projection is not None and folded.version == 2 and not folded.unstarted
    assert folded.projection.customer is not None
