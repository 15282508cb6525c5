"""The counts vocabulary of the fold: unread messages, unseen disputes, threads with news, the bell."""

from __future__ import annotations

from ordertalk_threadstate import Attention, BellCounts, ThreadState, bell_counts
from tests.notifier.events import ADMIN, ThreadBuilder
from tests.support.folding import fold

from ordertalk_contracts import ThreadEvent


def test_a_dispute_opened_by_the_customer_without_a_message_is_news_for_the_staff_only() -> None:
    b = ThreadBuilder()
    state = fold([b.started(), b.dispute_opened(b.customer)])
    assert state.unread_for("admin") == 0
    assert state.unseen_dispute_for("admin") and state.has_news_for("admin")
    assert not state.unseen_dispute_for("customer") and not state.has_news_for("customer")
    assert state.attention_for("admin") == Attention(unread_messages=0, unseen_dispute=True)


def test_your_own_dispute_never_raises_your_own_counts() -> None:
    b = ThreadBuilder()
    state = fold([b.started(), b.dispute_opened(ADMIN)])
    assert not state.has_news_for("admin")
    assert state.unseen_dispute_for("customer") and state.has_news_for("customer")


def test_reading_the_thread_marks_the_open_dispute_seen_even_with_no_message_to_read() -> None:
    b = ThreadBuilder()
    events: list[ThreadEvent] = [b.started(), b.message(b.customer)]
    events.append(b.read(ADMIN))
    events.append(b.dispute_opened(b.customer))
    assert fold(events).unseen_dispute_for("admin")
    events.append(b.read(ADMIN))  # same message position
    seen = fold(events)
    assert not seen.unseen_dispute_for("admin") and not seen.has_news_for("admin")
    assert seen.open_dispute is not None  # still open, only seen


def test_a_reply_counts_as_having_seen_the_dispute() -> None:
    b = ThreadBuilder()
    state = fold([b.started(), b.dispute_opened(b.customer), b.message(ADMIN)])
    assert not state.has_news_for("admin")
    assert state.has_news_for("customer") and state.unread_for("customer") == 1
    assert not state.unseen_dispute_for("customer")  # the customer opened it


def test_mark_as_unread_brings_messages_back_but_not_a_seen_dispute() -> None:
    b = ThreadBuilder()
    events: list[ThreadEvent] = [b.started(), b.message(b.customer), b.dispute_opened(b.customer)]
    events.append(b.read(ADMIN))
    events.append(b.marked_unread(ADMIN, 0))
    state = fold(events)
    assert state.attention_for("admin") == Attention(unread_messages=1, unseen_dispute=False)


def test_a_closed_dispute_is_no_longer_news_and_a_new_one_is() -> None:
    b = ThreadBuilder()
    events: list[ThreadEvent] = [b.started(), b.dispute_opened(b.customer)]
    events.append(b.dispute_closed(b.customer))
    assert not fold(events).has_news_for("admin")
    events.append(b.dispute_opened(b.customer))
    assert fold(events).unseen_dispute_for("admin")


def test_a_stored_state_from_before_seen_versions_still_loads() -> None:
    b = ThreadBuilder()
    dumped = fold([b.started(), b.dispute_opened(b.customer)]).model_dump(mode="json")
    del dumped["seen_versions"]
    del dumped["disputes"][0]["opened_version"]
    old = ThreadState.model_validate(dumped)
    assert old.open_dispute is not None and not old.unseen_dispute_for("admin")


def test_the_bell_counts_a_thread_once_and_splits_messages_and_disputes() -> None:
    both = Attention(unread_messages=3, unseen_dispute=True)
    messages_only = Attention(unread_messages=1, unseen_dispute=False)
    dispute_only = Attention(unread_messages=0, unseen_dispute=True)
    nothing = Attention(unread_messages=0, unseen_dispute=False)
    bell = bell_counts([both, messages_only, dispute_only, nothing])
    assert bell == BellCounts(threads_with_news=3, threads_with_unread_messages=2, unseen_disputes=2)
    assert bell_counts([]) == BellCounts(threads_with_news=0, threads_with_unread_messages=0, unseen_disputes=0)
