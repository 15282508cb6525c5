"""Domain events become contract events that the shared fold accepts."""

from __future__ import annotations

from uuid import uuid4

from ordertalk_threadstate.state import apply_event
from tests.messaging.threads import ADMIN, CUSTOMER, EVERY_KIND, order_thread

from ordertalk_contracts import parse, parse_thread_event
from ordertalk_messaging.application.translation import event_id_for, to_contract


def test_every_event_translates_and_folds_to_the_aggregates_state() -> None:
    thread = order_thread(correlation_id="req-1")
    thread.post_message(uuid4(), "hello", CUSTOMER, "req-2")
    thread.post_message(uuid4(), "hi", ADMIN, "req-3")
    thread.open_dispute_with("late", CUSTOMER, None)
    thread.close_dispute(ADMIN, None)
    thread.mark_read(CUSTOMER, None)
    thread.mark_unread(ADMIN, None)
    contracts = [to_contract(e, position=100 + i) for i, e in enumerate(thread.collect_events())]
    assert [c.event_type for c in contracts] == list(EVERY_KIND)
    state = None
    for c in contracts:
        again = parse_thread_event(c.model_dump_json())
        assert again == c
        state = apply_event(state, again)
    assert state is not None
    assert state.read_positions == thread.read_positions
    assert state.seen_versions == thread.seen_versions
    assert state.unread_for("admin") == 1
    assert state.unread_for("customer") == 0
    assert state.open_dispute is None and len(state.disputes) == 1
    assert contracts[0].event_id == event_id_for(thread.id, 1)
    assert contracts[1].correlation_id == "req-2"
    assert contracts[1].actor.party == "customer"
    assert parse(contracts[0].model_dump_json()).event_type == "ThreadStarted"


def test_the_fold_sees_an_unseen_dispute_where_the_aggregate_does() -> None:
    thread = order_thread(correlation_id=None)
    thread.post_message(uuid4(), "hello", CUSTOMER, None)
    thread.mark_read(ADMIN, None)
    thread.open_dispute_with("late", CUSTOMER, None)
    state = None
    for i, e in enumerate(thread.collect_events()):
        state = apply_event(state, to_contract(e, position=1 + i))
    assert state is not None and state.unseen_dispute_for("admin") and thread.unseen_dispute_for("admin")
    assert state.open_dispute is not None and state.open_dispute.opened_version == 4
    thread.mark_read(ADMIN, None)  # no message to read: the ThreadRead records the dispute as seen
    for e in thread.collect_events():
        state = apply_event(state, to_contract(e, position=100))
    assert not state.unseen_dispute_for("admin") and not thread.unseen_dispute_for("admin")
    assert state.seen_versions == thread.seen_versions
