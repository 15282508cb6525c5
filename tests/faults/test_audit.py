"""The fault suite's audit (pure): it finds a lost write, a wrong read model, a lost or doubled e-mail."""

from __future__ import annotations

from typing import Any

from ordertalk_threadstate import ThreadState

from ordertalk_notifier.policy import Links
from tests.faults.audit import (
    ADMIN,
    Ack,
    bell_problems,
    check_acks,
    expected_bell,
    fold_store,
    list_problems,
    mail_problems,
)
from tests.notifier.events import ADMIN as ADMIN_ACTOR
from tests.notifier.events import ThreadBuilder

LINKS = Links("store@example.com", "http://web/admin", "http://web/store")


def scene() -> tuple[ThreadBuilder, list[Any]]:
    """A thread: started, a customer message, the admin's reply, a dispute by the customer, the admin's read."""
    thread = ThreadBuilder(customer_email="Jane@Example.com")
    events = [
        thread.started(),
        thread.message(thread.customer, "Where is it?"),
        thread.message(ADMIN_ACTOR, "On its way"),
        thread.dispute_opened(thread.customer),
        thread.read(ADMIN_ACTOR),
    ]
    return thread, events


def row_of(state: ThreadState) -> dict[str, Any]:
    """The admin's list row the projections would show for ``state``, built from the fold itself."""
    dispute = state.open_dispute
    return {
        "order_id": state.order_id,
        "version": state.version,
        "position": state.position,
        "message_count": state.message_count,
        "unread_for_admin": state.unread_for("admin"),
        "unread_for_customer": state.unread_for("customer"),
        "unread": state.unread_for("admin"),
        "unseen_dispute": state.unseen_dispute_for("admin"),
        "has_news": state.has_news_for("admin"),
        "read_positions": dict(state.read_positions),
        "dispute": None if dispute is None else {"dispute_no": dispute.dispute_no},
        "last_message": None if state.last_message is None else {"message_id": state.last_message.message_id},
    }


def test_the_policy_over_the_fold_expects_one_e_mail_per_event_and_recipient() -> None:
    _, events = scene()
    folded = fold_store(events, LINKS)
    want = {
        (str(events[1].event_id), "store@example.com"),
        (str(events[2].event_id), "jane@example.com"),  # addresses compared in lower case
        (str(events[3].event_id), "store@example.com"),
    }
    assert folded.expected_mails == want
    assert mail_problems(folded.expected_mails, {key: ["<m@x>"] for key in want}) == []


def test_lost_doubled_and_unexpected_e_mails_are_each_reported() -> None:
    _, events = scene()
    expected = fold_store(events, LINKS).expected_mails
    _, *rest = sorted(expected)
    received = {rest[0]: ["<a@x>", "<a@x>"], rest[1]: ["<b@x>"], ("other-event", "x@example.com"): ["<c@x>"]}
    problems = mail_problems(expected, received)
    assert problems[0].startswith("1 e-mails lost of 3")
    assert problems[1].startswith("1 e-mails received more than once (1 extra, 0 allowed)")
    assert problems[2].startswith("1 e-mails nobody should have had")


def test_copies_of_one_e_mail_pass_within_the_resend_bound_and_different_messages_never() -> None:
    _, events = scene()
    first, second, third = sorted(fold_store(events, LINKS).expected_mails)
    resent = {first: ["<a@x>", "<a@x>", "<a@x>"], second: ["<b@x>", "<b@x>"], third: ["<c@x>"]}
    assert mail_problems(frozenset(resent), resent, resends_allowed=3) == []
    assert mail_problems(frozenset(resent), resent, resends_allowed=2)[0].startswith(
        "2 e-mails received more than once (3 extra, 2 allowed)"
    )
    different = resent | {third: ["<c@x>", "<other@x>"]}
    assert mail_problems(frozenset(different), different, resends_allowed=10) == [
        f"1 e-mails sent as different messages (Message-IDs), e.g. {[third]}"
    ]


def test_an_acknowledged_write_missing_from_the_store_or_a_body_stored_twice_is_reported() -> None:
    thread, events = scene()
    post = events[2]
    good = Ack("post", thread.order_id, "k1", post.thread_version, post.position, str(post.message_id))
    noop_read = Ack("read", thread.order_id, "k2", events[-1].thread_version, events[-1].position + 7)
    assert check_acks([good, noop_read], events) == []
    lost = Ack("post", thread.order_id, "k3", 99, events[-1].position + 1, "m")
    twice = [*events, thread.message(ADMIN_ACTOR, "On its way")]
    problems = check_acks([good, lost], twice)
    assert problems == [
        "message body stored 2 times: 'On its way'",
        f"acknowledged post (key k3) not in the store at {thread.order_id} v99",
    ]


def test_a_read_model_row_or_bell_that_differs_from_the_fold_is_reported_field_by_field() -> None:
    thread, events = scene()
    states = fold_store(events, LINKS).states
    state = states[thread.order_id]
    assert list_problems("list", [row_of(state)], states, ADMIN) == []
    stale = row_of(fold_store(events[:-1], LINKS).states[thread.order_id])  # the admin's read not applied
    problems = list_problems("list", [stale], states, ADMIN)
    assert f"list {thread.order_id}: unseen_dispute is True, the store says False" in problems
    assert f"list {thread.order_id}: version is 4, the store says 5" in problems
    assert list_problems("list", [], states, ADMIN) == [f"list: thread {thread.order_id} missing from the list"]
    just_started = fold_store(events[:1], LINKS).states
    assert list_problems("list", [], just_started, ADMIN) == []  # no conversation yet: not listed
    bell = expected_bell(states.values(), ADMIN)
    assert bell_problems("bell", bell.model_dump(), bell) == []
    assert bell_problems("bell", bell.model_dump() | {"threads_with_news": 1}, bell) == [
        "bell: threads_with_news is 1, the store says 0"
    ]
