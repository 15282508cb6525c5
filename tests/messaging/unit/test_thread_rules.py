"""Every rule of the OrderThread aggregate, without I/O."""

from __future__ import annotations

from uuid import uuid4

import pytest
from tests.messaging.threads import ADMIN, CUSTOMER, order_thread

from ordertalk_messaging.domain.errors import DisputeConflict, InvalidText
from ordertalk_messaging.domain.participant import Participant
from ordertalk_messaging.domain.text import MAX_BODY_CHARS, MAX_REASON_CHARS
from ordertalk_messaging.domain.thread import OrderThread, thread_id_for

OTHER_ADMIN = Participant("admin", "admin-2", "Second Admin")


def new_thread() -> OrderThread:
    thread = order_thread(correlation_id="c-1")
    thread.collect_events()
    return thread


def event_names(thread: OrderThread) -> list[str]:
    return [type(e).__name__ for e in thread.collect_events()]


def test_thread_id_derives_from_order_id() -> None:
    thread = new_thread()
    assert thread.id == thread_id_for("11")
    assert thread_id_for("11") != thread_id_for("12")
    assert thread.version == 1


def test_post_trims_and_numbers_messages_and_moves_author_read_position() -> None:
    thread = new_thread()
    first = thread.post_message(uuid4(), "  hello\n", CUSTOMER, None)
    second = thread.post_message(uuid4(), "hi\tthere", ADMIN, None)
    assert (first.seq, second.seq) == (1, 2)
    assert thread.read_position("customer") == 1
    assert thread.read_position("admin") == 2
    events = thread.collect_events()
    assert [e.body for e in events] == ["hello", "hi\tthere"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("body", ["", "   ", "\n\t "])
def test_empty_body_is_rejected(body: str) -> None:
    thread = new_thread()
    with pytest.raises(InvalidText, match="must not be empty"):
        thread.post_message(uuid4(), body, ADMIN, None)
    assert thread.collect_events() == []


def test_body_length_limit_counts_after_trimming() -> None:
    thread = new_thread()
    thread.post_message(uuid4(), "  " + "x" * MAX_BODY_CHARS + "  ", ADMIN, None)
    with pytest.raises(InvalidText, match="at most 5000"):
        thread.post_message(uuid4(), "x" * (MAX_BODY_CHARS + 1), ADMIN, None)
    assert event_names(thread) == ["MessagePosted"]


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\r", "\x85"])
def test_control_characters_other_than_newline_and_tab_are_rejected(char: str) -> None:
    thread = new_thread()
    with pytest.raises(InvalidText, match="control character"):
        thread.post_message(uuid4(), f"a{char}b", ADMIN, None)


def test_windows_line_breaks_are_kept_as_line_breaks() -> None:
    thread = new_thread()
    thread.post_message(uuid4(), "a\r\nb", ADMIN, None)
    assert thread.collect_events()[0].body == "a\nb"  # type: ignore[attr-defined]


def test_repeated_message_id_posts_nothing_and_answers_the_first_post() -> None:
    thread = new_thread()
    message_id = uuid4()
    first = thread.post_message(message_id, "hello", ADMIN, None)
    again = thread.post_message(message_id, "hello", ADMIN, None)
    assert (again.seq, again.version, again.duplicate) == (first.seq, first.version, True)
    assert event_names(thread) == ["MessagePosted"]


def test_dispute_open_and_close_by_either_side_with_numbers() -> None:
    thread = new_thread()
    assert thread.open_dispute_with(" late delivery ", CUSTOMER, None) == 1
    assert thread.open_dispute is not None
    assert thread.close_dispute(ADMIN, None) == 1
    assert thread.open_dispute is None
    assert thread.open_dispute_with("damaged", ADMIN, None) == 2
    assert thread.close_dispute(CUSTOMER, None) == 2
    events = thread.collect_events()
    assert [type(e).__name__ for e in events] == ["DisputeOpened", "DisputeClosed"] * 2
    assert events[0].reason == "late delivery"
    assert events[1].opened_at == events[0].timestamp


def test_opening_while_open_is_a_conflict() -> None:
    thread = new_thread()
    thread.open_dispute_with("late", CUSTOMER, None)
    with pytest.raises(DisputeConflict, match="already open"):
        thread.open_dispute_with("again", ADMIN, None)


def test_closing_when_none_is_open_is_a_conflict() -> None:
    thread = new_thread()
    with pytest.raises(DisputeConflict, match="no open dispute"):
        thread.close_dispute(ADMIN, None)


@pytest.mark.parametrize("reason", ["", "  ", "x" * (MAX_REASON_CHARS + 1), "bad\x00"])
def test_invalid_dispute_reasons(reason: str) -> None:
    thread = new_thread()
    with pytest.raises(InvalidText):
        thread.open_dispute_with(reason, ADMIN, None)
    assert thread.open_dispute is None


def test_mark_read_moves_to_last_message_once() -> None:
    thread = new_thread()
    thread.post_message(uuid4(), "one", CUSTOMER, None)
    thread.post_message(uuid4(), "two", CUSTOMER, None)
    thread.collect_events()
    assert thread.mark_read(ADMIN, None) == 2
    assert thread.mark_read(OTHER_ADMIN, None) == 2  # all staff share the admin party
    assert event_names(thread) == ["ThreadRead"]


def test_mark_read_without_messages_changes_nothing() -> None:
    thread = new_thread()
    assert thread.mark_read(ADMIN, None) == 0
    assert event_names(thread) == []


def test_mark_read_records_seeing_a_dispute_opened_by_the_other_side_without_a_message() -> None:
    thread = new_thread()
    thread.post_message(uuid4(), "hello", CUSTOMER, None)
    thread.mark_read(ADMIN, None)
    thread.open_dispute_with("late", CUSTOMER, None)
    thread.collect_events()
    assert thread.unseen_dispute_for("admin") and not thread.unseen_dispute_for("customer")
    assert thread.mark_read(ADMIN, None) == 1  # no message to move over, yet the dispute is now seen
    assert event_names(thread) == ["ThreadRead"]
    assert not thread.unseen_dispute_for("admin")
    assert thread.mark_read(ADMIN, None) == 1
    assert thread.mark_read(CUSTOMER, None) == 1  # the customer's own dispute is nothing to see
    assert event_names(thread) == []


def test_a_reply_counts_as_having_seen_the_dispute() -> None:
    thread = new_thread()
    thread.open_dispute_with("late", CUSTOMER, None)
    thread.post_message(uuid4(), "we are on it", ADMIN, None)
    thread.collect_events()
    assert thread.mark_read(ADMIN, None) == 1
    assert event_names(thread) == []


def test_mark_unread_makes_other_sides_latest_message_unread() -> None:
    thread = new_thread()
    thread.post_message(uuid4(), "question", CUSTOMER, None)  # 1
    thread.post_message(uuid4(), "answer", ADMIN, None)  # 2
    thread.post_message(uuid4(), "thanks", CUSTOMER, None)  # 3
    thread.post_message(uuid4(), "welcome", ADMIN, None)  # 4 (admin read up to 4)
    thread.collect_events()
    assert thread.mark_unread(ADMIN, None) == 2  # customer's latest (3) is unread again
    assert event_names(thread) == ["ThreadMarkedUnread"]
    assert thread.mark_unread(ADMIN, None) == 2
    assert event_names(thread) == []


def test_mark_unread_with_nothing_from_the_other_side_changes_nothing() -> None:
    thread = new_thread()
    thread.post_message(uuid4(), "hello", ADMIN, None)
    thread.collect_events()
    assert thread.mark_unread(ADMIN, None) == 1
    assert event_names(thread) == []


def test_customer_ownership() -> None:
    thread = new_thread()
    assert thread.belongs_to_customer("customer-1")
    assert not thread.belongs_to_customer("customer-2")


def test_vendor_party_is_distinct() -> None:
    vendor = Participant("vendor", "v-9", "Vendor")
    assert vendor.party == "vendor:v-9"
    assert ADMIN.party == "admin"
    assert CUSTOMER.party == "customer"


def test_restore_goes_back_to_the_memento_whatever_was_decided_since() -> None:
    thread = order_thread()
    thread.post_message(uuid4(), "kept", ADMIN, None)
    thread.collect_events()
    before = {k: v.copy() if isinstance(v, list | dict) else v for k, v in vars(thread).items()}
    memento = thread.memento()
    thread.post_message(uuid4(), "dropped", CUSTOMER, None)
    thread.open_dispute_with("why", CUSTOMER, None)
    thread.mark_read(ADMIN, None)
    thread.restore(memento)
    assert vars(thread) == before and thread.message_count == 1 and thread.pending_events == []
    thread.post_message(uuid4(), "after restoring", CUSTOMER, None)
    thread.restore(memento)
    assert vars(thread) == before  # and can be restored again


def test_a_memento_of_a_long_thread_copies_none_of_its_messages() -> None:
    thread = order_thread()
    for i in range(1000):
        thread.post_message(uuid4(), f"message {i}", ADMIN if i % 2 else CUSTOMER, None)
    thread.collect_events()
    memento = thread.memento()
    assert all(len(v) < 10 for v in memento.values() if isinstance(v, list | dict))
    posted = [thread.post_message(uuid4(), "dropped", CUSTOMER, None) for _ in range(3)]
    thread.restore(memento)
    assert thread.message_count == 1000 and not any(p.message_id in thread.message_ids for p in posted)
    assert thread.post_message(uuid4(), "next", ADMIN, None).seq == 1001
