"""Who gets which e-mail for each event."""

from __future__ import annotations

from ordertalk_threadstate import ThreadState, apply_event
from tests.notifier.events import ADMIN, ThreadBuilder
from tests.support.folding import fold

from ordertalk_contracts import Actor, ThreadEvent
from ordertalk_notifier.policy import Links, mail_excerpt, notifications_for

LINKS = Links("store@example.com", "http://web/admin", "http://web/store/")


def recipients_of(history: list[ThreadEvent]) -> list[tuple[str, str]]:
    state = fold(history)
    return [(n.recipient.audience, n.recipient.email) for n in notifications_for(history[-1], state, LINKS)]


def test_customer_message_goes_to_the_store_only() -> None:
    t = ThreadBuilder()
    assert recipients_of([t.started(), t.message(t.customer)]) == [("store", "store@example.com")]


def test_store_message_goes_to_the_customer_only() -> None:
    t = ThreadBuilder(customer_email="c@example.org")
    assert recipients_of([t.started(), t.message(ADMIN)]) == [("customer", "c@example.org")]


def test_dispute_by_customer_reaches_the_store_and_by_store_reaches_the_customer() -> None:
    t = ThreadBuilder()
    history: list[ThreadEvent] = [t.started(), t.dispute_opened(t.customer)]
    assert recipients_of(history) == [("store", "store@example.com")]
    history.append(t.dispute_closed(t.customer))
    assert recipients_of(history) == [("store", "store@example.com")]
    history.append(t.dispute_opened(ADMIN))
    assert recipients_of(history) == [("customer", "jane@example.com")]
    history.append(t.dispute_closed(ADMIN))
    assert recipients_of(history) == [("customer", "jane@example.com")]


def test_reads_unreads_and_the_start_send_nothing() -> None:
    t = ThreadBuilder()
    history: list[ThreadEvent] = [t.started()]
    assert recipients_of(history) == []
    history += [t.message(t.customer), t.read(ADMIN)]
    assert recipients_of(history) == []
    history.append(t.marked_unread(ADMIN, 0))
    assert recipients_of(history) == []


def test_a_vendor_message_reaches_both_store_and_customer() -> None:
    t = ThreadBuilder()
    vendor = Actor(role="vendor", id="v1", display_name="Vendor")
    assert recipients_of([t.started(), t.message(vendor)]) == [
        ("store", "store@example.com"),
        ("customer", "jane@example.com"),
    ]


def test_store_message_without_a_known_customer_mails_nobody() -> None:
    t = ThreadBuilder()
    t.started()  # produced but never seen
    state = apply_event(ThreadState(order_id=t.order_id, thread_id=str(t.thread_id), version=1), t.message(ADMIN))
    assert notifications_for(t.message(ADMIN), state, LINKS) == []


def test_content_link_and_key() -> None:
    t = ThreadBuilder(order_id="o/1 x", order_number="#00042")
    history: list[ThreadEvent] = [t.started(), t.message(t.customer, "Hello\n  there")]
    [to_store] = notifications_for(history[-1], fold(history), LINKS)
    assert to_store.order_number == "#00042"
    assert to_store.author_name == "Jane Doe"
    assert to_store.text == "Hello\n  there"
    assert to_store.link == "http://web/admin/orders/o%2F1%20x#messages"
    assert to_store.reply_to is not None and to_store.reply_to.email == "jane@example.com"
    history.append(t.message(ADMIN))
    [to_customer] = notifications_for(history[-1], fold(history), LINKS)
    assert to_customer.link == "http://web/store/orders/o%2F1%20x"
    assert to_customer.key.startswith(str(history[-1].event_id))
    assert to_customer.key != to_store.key
    again = notifications_for(history[-1], fold(history), LINKS)
    assert again[0].key == to_customer.key


def test_mail_excerpts_keep_line_breaks() -> None:
    assert mail_excerpt("Hi,\nthe parcel\r\nis late.") == "Hi,\nthe parcel\nis late."
    assert mail_excerpt("\n\n  a  \t\n\n\n\n\nb\u2028c \n\n") == "  a\n\nb\nc"
    assert mail_excerpt("one two three", limit=8) == "one two…"
    assert len(mail_excerpt("line\n" * 200)) == 300


def test_a_three_line_reason_keeps_its_lines() -> None:
    t = ThreadBuilder()
    history: list[ThreadEvent] = [t.started(), t.dispute_opened(t.customer, "Damaged.\nBox torn.\nPhotos attached.")]
    [to_store] = notifications_for(history[-1], fold(history), LINKS)
    assert to_store.text == "Damaged.\nBox torn.\nPhotos attached."
